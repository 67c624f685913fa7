import { expect } from 'chai';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import type { PayloadPolicy } from '../../src/mcp/audit';
import { McpGateway } from '../../src/mcp/gateway';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { httpClient, startGatewayHttp } from './support/clients';
import { startRpcErrorUpstream, type RpcErrorUpstream } from './support/rpc-error-server';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'alice' };
const ctx = { tenant: 'acme', actor };
const RPC_ERROR_SERVER = join(__dirname, 'support', 'rpc-error-server.ts');

/** The codes the MCP SDK's client also gives its own ConnectionClosed and RequestTimeout, answered by the upstream. */
const ANSWERS = [
  { code: -32000, message: 'ledger locked by batch 17, try again after it closes' },
  { code: -32001, message: 'quota service did not answer the upstream in time' },
] as const;

type Failure = { code?: string; rpcCode?: number; message: string };
const failureOf = (p: Promise<unknown>) => p.then(() => ({ message: 'no error' }) as Failure, (e: unknown) => e as Failure);

/**
 * A real upstream (the SDK's Server, over stdio and over streamable HTTP) answering tools/call
 * with JSON-RPC errors -32000 and -32001. They are its answer, like any other JSON-RPC error:
 * not the gateway's own lost connection (ConnectionClosed) or timeout (RequestTimeout), which
 * the SDK gives the same codes.
 */
describe('MCP gateway: an upstream answering JSON-RPC error -32000 or -32001 (the codes of the SDK\'s own lost connection and timeout)', function () {
  this.timeout(60_000);

  for (const policy of ['store', 'hash-only'] as PayloadPolicy[]) {
    describe(`MCP_PAYLOAD_POLICY=${policy}`, function () {
      let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
      let gateway: McpGateway;
      let remote: RpcErrorUpstream;
      let http: { app: FastifyInstance; url: string };
      let client: Client;
      const ids: Record<string, string> = {};

      before(async function () {
        db = await openTempSqliteStore();
        remote = await startRpcErrorUpstream();
        gateway = new McpGateway({
          store: db.store,
          payloadPolicy: policy,
          cacheTtlMs: 0,
          upstream: {
            callTimeoutMs: 10_000,
            healthIntervalMs: 0,
            retries: 2,
            retryBackoffMs: 10,
            // Opens after 2 failures in 10 s, were these answers counted as failures.
            breaker: { volumeThreshold: 2, errorThresholdPercentage: 50, resetTimeoutMs: 30_000, rollingCountTimeoutMs: 10_000 },
          },
        });
        await gateway.start();
        const [stdio, web, slow, ping] = await Promise.all([
          gateway.registerServer({ ...ctx, name: 'rpcstdio', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), RPC_ERROR_SERVER] }),
          gateway.registerServer({ ...ctx, name: 'rpchttp', transport: 'http', url: remote.url }),
          gateway.registerServer({ ...ctx, name: 'rpcslow', transport: 'http', url: remote.url, limits: { timeoutMs: 300 } }),
          gateway.registerServer({ ...ctx, name: 'rpcping', transport: 'http', url: remote.url }),
        ]);
        expect([stdio.health, web.health, slow.health, ping.health]).to.deep.equal(['up', 'up', 'up', 'up']);
        ids.rpcping = ping.id;
        ids.rpcstdio = stdio.id;
        ids.rpchttp = web.id;
        http = await startGatewayHttp(gateway);
        client = await httpClient(http.url, 'key-acme-alice');
      });

      after(async function () {
        await client?.close().catch(() => {});
        await http?.app.close();
        await gateway?.close();
        await remote?.close();
        await db?.cleanup();
      });

      for (const server of ['rpcstdio', 'rpchttp']) {
        it(`${server}: the caller gets the upstream's code and message, and ToolCallFailed records the upstream's error`, async function () {
          const head = await db.store.headPosition();
          for (const { code, message } of ANSWERS) {
            const viaMcp = await client.callTool({ name: `${server}__fail`, arguments: { code, message } }).catch((e: unknown) => e);
            expect(viaMcp).to.be.instanceOf(McpError);
            expect((viaMcp as McpError).code).to.equal(code);
            // The upstream's message as it answered it: the client's SDK adds its one "MCP error <code>: ".
            expect((viaMcp as McpError).message).to.equal(`MCP error ${code}: ${message}`);

            const direct = await failureOf(gateway.callTool(ctx, `${server}__fail`, { code, message }));
            expect(direct).to.include({ code: 'MCP_UPSTREAM_ERROR', rpcCode: code, message });
          }
          const failed = (await db.store.readAll({ after: head, limit: 1000 })).filter((e) => e.type === 'ToolCallFailed');
          const want = ANSWERS.flatMap(({ code, message }) => {
            const recorded =
              policy === 'store' ? `${code}: ${message}` : `${code}: upstream error message withheld (MCP_PAYLOAD_POLICY=hash-only), sha256 ${payloadDigest(message).hash}`;
            return [0, 1].map(() => ({ code: 'MCP_UPSTREAM_ERROR', message: recorded }));
          });
          expect(failed.map((e) => e.data.error)).to.deep.equal(want);
        });

        it(`${server}: many such answers open no breaker, are not retried, and keep the connection`, async function () {
          const upstream = gateway.upstream(ids[server])!;
          const pid = upstream.pid;
          const sessions = remote.sessions();
          const count = async () => Number(((await gateway.callTool(ctx, `${server}__failed`, {})).content[0] as { text: string }).text);
          const before = await count();
          const codes: (string | undefined)[] = [];
          for (let i = 0; i < 10; i++) {
            const { code, message } = ANSWERS[i % 2];
            codes.push((await failureOf(gateway.callTool(ctx, `${server}__fail`, { code, message: `${message} #${i}` }))).code);
          }
          expect(codes).to.deep.equal(Array(10).fill('MCP_UPSTREAM_ERROR'));
          expect(upstream.circuit).to.equal('closed');
          // `fail` is read-only and idempotent, retried on a lost connection: each answer reached the upstream once.
          expect(await count()).to.equal(before + 10);
          if (server === 'rpcstdio') expect(upstream.pid, 'the same process').to.equal(pid);
          else expect(remote.sessions(), 'no new session').to.equal(sessions);
          expect(gateway.listServers('acme').find((s) => s.id === ids[server])?.health).to.equal('up');
        });
      }

      it('a ping answered with -32001 or -32000 is the upstream\'s error in its health, not a timeout or a lost connection', async function () {
        const upstream = gateway.upstream(ids.rpcping)!;
        const changes = async () => (await db.store.readStream(`mcpserver-${ids.rpcping}`)).filter((e) => e.type === 'McpServerHealthChanged');
        try {
          for (const answer of ANSWERS) {
            const seen = (await changes()).length;
            remote.answerPingWith(answer);
            expect(await upstream.checkHealth()).to.equal('down');
            remote.answerPingWith(undefined);
            expect(await upstream.checkHealth()).to.equal('up');
            const [down, up] = (await changes()).slice(seen);
            expect(up.data.status).to.equal('up');
            if (policy === 'store') expect(down.data).to.deep.equal({ status: 'down', reason: answer.message });
            else expect(down.data).to.deep.equal({ status: 'down', cause: { kind: 'protocol-error', rpcCode: answer.code }, reasonHash: payloadDigest(answer.message).hash });
          }
        } finally {
          remote.answerPingWith(undefined);
        }
      });

      it("the gateway's own timeout and a killed upstream are still told as such", async function () {
        const head = await db.store.headPosition();
        const timedOut = await failureOf(gateway.callTool(ctx, 'rpcslow__hang', { ms: 5_000 }));
        expect(timedOut).to.include({ code: 'MCP_UPSTREAM_TIMEOUT' });
        expect(timedOut.message).to.contain('no answer, nor progress, within 300 ms');

        const pid = gateway.upstream(ids.rpcstdio)!.pid!;
        const hung = failureOf(gateway.callTool(ctx, 'rpcstdio__hang', { ms: 20_000 }));
        await new Promise((r) => setTimeout(r, 200));
        process.kill(pid, 'SIGKILL');
        const killed = await hung;
        expect(killed).to.include({ code: 'MCP_UPSTREAM_UNAVAILABLE' });
        expect(killed.message).to.contain('rpcstdio: the connection closed: the process was ended by SIGKILL');

        const failed = (await db.store.readAll({ after: head, limit: 1000 })).filter((e) => e.type === 'ToolCallFailed').map((e) => e.data.error);
        const digest = (m: string) => `sha256 ${payloadDigest(m).hash}`;
        expect(failed).to.deep.equal(
          policy === 'store'
            ? [
                { code: 'MCP_UPSTREAM_TIMEOUT', message: timedOut.message },
                { code: 'MCP_UPSTREAM_UNAVAILABLE', message: killed.message },
              ]
            : [
                { code: 'MCP_UPSTREAM_TIMEOUT', message: `no answer within 300 ms; message withheld (MCP_PAYLOAD_POLICY=hash-only), ${digest(timedOut.message)}` },
                { code: 'MCP_UPSTREAM_UNAVAILABLE', message: `the process was ended by SIGKILL; message withheld (MCP_PAYLOAD_POLICY=hash-only), ${digest(killed.message)}` },
              ],
        );
        // The next call connects again.
        expect(Number.isFinite(Number(((await gateway.callTool(ctx, 'rpcstdio__failed', {})).content[0] as { text: string }).text))).to.equal(true);
        expect(gateway.upstream(ids.rpcstdio)!.pid).to.not.equal(pid);
      });
    });
  }
});
