import { expect } from 'chai';
import { McpGateway } from '../../src/mcp/gateway';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { readServersFile } from '../../src/mcp/servers-file';
import { examplesServer } from '../../src/mcp/examples-server';
import { splitToolName } from '../../src/core/tool-name';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { openTempSqliteStore } from './support/stores';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const actor = { kind: 'user' as const, id: 'alice' };
const STDERR_SERVER = join(__dirname, 'support', 'stderr-server.ts');

describe('MCP gateway: payload policy, task link, registry input', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let remote: HttpExample;
  let gateway: McpGateway;
  /** The gateway's own (operator-side) log: its warn lines. */
  const warned: { obj: Record<string, unknown>; msg?: string }[] = [];

  before(async function () {
    db = await openTempSqliteStore();
    remote = await startHttpExample({ testTools: true });
    const logger = { warn: (obj: unknown, msg?: string) => void warned.push({ obj: obj as Record<string, unknown>, msg }) };
    gateway = new McpGateway({ store: db.store, payloadPolicy: 'hash-only', cacheTtlMs: 0, upstream: { healthIntervalMs: 0 }, logger });
    await gateway.registerServer({ tenant: 'acme', actor, name: 'remote', transport: 'http', url: remote.url });
  });
  after(async function () {
    await gateway?.close();
    await remote?.close();
    await db?.cleanup();
  });

  it('hash-only: records hashes of arguments and result, never the payloads, and links the task id', async function () {
    const args = { a: 0.5 as unknown as number, b: 2 };
    await gateway.callTool({ tenant: 'acme', actor, taskId: 'task-123', correlationId: 'corr-1' }, 'remote__echo', { text: 'secret' });
    const events = (await db.store.readAll({ limit: 1000 })).filter((e) => e.stream.startsWith('toolcall-'));
    expect(events.map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallCompleted']);
    expect(JSON.stringify(events)).to.not.contain('secret');
    expect(events[0].data).to.include({ payloadPolicy: 'hash-only', taskId: 'task-123', argumentsHash: payloadDigest({ text: 'secret' }).hash });
    expect(events[0].correlationId).to.equal('corr-1');
    expect(events[1].data).to.not.have.property('resultJson');
    // Floats in arguments are the caller's data: hashed by JCS, never put into event data as numbers.
    expect(payloadDigest(args).json).to.equal('{"a":0.5,"b":2}');
  });

  it("hash-only: an upstream's JSON-RPC error message (which may echo the arguments) is recorded by hash, not as text", async function () {
    const head = await db.store.headPosition();
    const err = await gateway.callTool({ tenant: 'acme', actor }, 'remote__reject', { message: 'no such account: secret-4711' }).catch((e: unknown) => e);
    // The caller still gets the upstream's own code and message: only the log must not keep it.
    expect((err as { rpcCode?: number }).rpcCode).to.equal(-32602);
    expect((err as Error).message).to.contain('secret-4711');
    const events = (await db.store.readAll({ after: head, limit: 1000 })).filter((e) => e.stream.startsWith('toolcall-'));
    expect(events.map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallFailed']);
    expect(JSON.stringify(events)).to.not.contain('secret-4711');
    const error = (events[1].data as { error: { code: string; message: string } }).error;
    expect(error.code).to.equal('MCP_UPSTREAM_ERROR');
    expect(error.message).to.equal(`-32602: upstream error message withheld (MCP_PAYLOAD_POLICY=hash-only), sha256 ${payloadDigest((err as { rpcMessage: string }).rpcMessage).hash}`);
  });

  it("hash-only: the gateway's own log has the failed call's whole error (a URL's credentials replaced), named by the call, beside the digest the event keeps", async function () {
    const head = await db.store.headPosition();
    warned.length = 0;
    const said = 'no such account: secret-4711 (see postgres://app:hunter2@db.internal/crm)';
    const err = await gateway.callTool({ tenant: 'acme', actor, taskId: 'task-9', correlationId: 'req-7' }, 'remote__reject', { message: said }).catch((e: unknown) => e);
    expect((err as Error).message).to.contain('hunter2');
    const [requested, failed] = (await db.store.readAll({ after: head, limit: 1000 })).filter((e) => e.stream.startsWith('toolcall-'));
    expect(JSON.stringify(failed)).to.not.contain('secret-4711');
    const hash = payloadDigest((err as Error).message).hash;
    expect((failed.data as { error: { message: string } }).error.message).to.contain(hash);
    const lines = warned.filter((l) => l.obj.callId === requested.stream.slice('toolcall-'.length));
    expect(lines, JSON.stringify(warned)).to.have.length(1);
    expect(lines[0].msg).to.equal('mcp gateway: tools/call failed; its error is kept out of the event log (MCP_PAYLOAD_POLICY=hash-only)');
    expect(lines[0].obj).to.deep.include({
      tenant: 'acme',
      server: 'remote',
      tool: 'reject',
      taskId: 'task-9',
      correlationId: 'req-7',
      // As MCP_PAYLOAD_POLICY=store records it.
      error: { code: 'MCP_UPSTREAM_ERROR', message: '-32602: no such account: secret-4711 (see postgres://***:***@db.internal/crm)' },
      messageHash: hash,
    });
  });

  it("hash-only: a stdio server's stderr line (an earlier call's arguments in it) is in the caller's error, not in the log", async function () {
    const head = await db.store.headPosition();
    const crm = await gateway.registerServer({ tenant: 'acme', actor, name: 'crm', transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), STDERR_SERVER] });
    try {
      await gateway.callTool({ tenant: 'acme', actor }, 'crm__lookup', { customer: 'ACME-HASHONLY-9' });
      const message = await gateway.callTool({ tenant: 'acme', actor }, 'crm__export', {}).then(() => 'no error', (e: Error) => e.message);
      expect(message).to.include('stderr: handled lookup customer=ACME-HASHONLY-9');
      const events = (await db.store.readAll({ after: head, limit: 1000 })).filter((e) => e.stream.startsWith('toolcall-'));
      expect(events.map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallCompleted', 'ToolCallRequested', 'ToolCallFailed']);
      expect(JSON.stringify(events)).to.not.contain('ACME-HASHONLY-9');
      // The gateway's own words for the crash (the process's exit code), and the digest of what the caller was told.
      expect((events[3].data as { error: unknown }).error).to.deep.equal({
        code: 'MCP_UPSTREAM_UNAVAILABLE',
        message: `the process exited with code 3; message withheld (MCP_PAYLOAD_POLICY=hash-only), sha256 ${payloadDigest(message).hash}`,
      });
    } finally {
      await gateway.removeServer('acme', crm.id, actor);
    }
  });

  it('refuses bad registrations naming the field, and a taken name', async function () {
    const bad = await gateway.registerServer({ tenant: 'acme', actor, name: 'Bad__Name', transport: 'http', url: remote.url }).catch((e) => e);
    expect(bad.code).to.equal('VALIDATION_FAILED');
    expect(bad.message).to.contain('name');
    const noCmd = await gateway.registerServer({ tenant: 'acme', actor, name: 'x', transport: 'stdio' }).catch((e) => e);
    expect(noCmd.code).to.equal('VALIDATION_FAILED');
    const taken = await gateway.registerServer({ tenant: 'acme', actor, name: 'remote', transport: 'http', url: remote.url }).catch((e) => e);
    expect(taken.code).to.equal('MCP_SERVER_EXISTS');
  });

  it("applies a server's own limits over the gateway's: its calls time out at its timeout, the others' at the default", async function () {
    const quick = await gateway.registerServer({ ...examplesServer(actor, { testTools: true, name: 'quick' }), tenant: 'acme', limits: { timeoutMs: 300 } });
    const patient = await gateway.registerServer({ ...examplesServer(actor, { testTools: true, name: 'patient' }), tenant: 'acme' });
    try {
      const err = await gateway.callTool({ tenant: 'acme', actor }, 'quick__sleep', { ms: 1_500 }).then(() => undefined, (e: unknown) => e);
      // At the default timeout the 1.5 s call would have answered; its message names the server's
      // (not timed: 1.4 s for a 300 ms timeout was too short on a loaded machine).
      expect((err as { code?: string })?.code).to.equal('MCP_UPSTREAM_TIMEOUT');
      expect((err as Error).message).to.contain('within 300 ms');
      const ok = await gateway.callTool({ tenant: 'acme', actor }, 'patient__sleep', { ms: 600 });
      expect(ok.isError).to.not.equal(true);
    } finally {
      await gateway.removeServer('acme', quick.id, actor);
      await gateway.removeServer('acme', patient.id, actor);
    }
  });

  it('refuses limits that are not positive whole numbers, naming the field', async function () {
    const err = await gateway.registerServer({ ...examplesServer(actor, { name: 'odd' }), tenant: 'acme', limits: { timeoutMs: -5 } }).then(() => undefined, (e: unknown) => e);
    expect((err as Error)?.message).to.match(/^limits\.timeoutMs: /);
    expect(gateway.listServers('acme').map((x) => x.name)).not.to.include('odd');
  });

  it('reads MCP_SERVERS_FILE in both layouts and splits namespaced names', function () {
    const f = join(db.dir, 'servers.json');
    writeFileSync(f, JSON.stringify({ mcpServers: { files: { command: 'npx', args: ['srv'] }, api: { url: 'http://127.0.0.1:1/mcp' } } }));
    const list = readServersFile(f, actor);
    expect(list.map((s) => [s.name, s.transport, s.tenant])).to.deep.equal([['files', 'stdio', '*'], ['api', 'http', '*']]);
    writeFileSync(f, JSON.stringify({ servers: [{ name: 'x', transport: 'sse', url: 'http://h/sse', tenant: 'acme' }] }));
    expect(readServersFile(f, actor)[0]).to.include({ name: 'x', transport: 'sse', tenant: 'acme' });
    writeFileSync(f, JSON.stringify({ mcpServers: { slow: { command: 'srv', timeoutMs: 120_000, maxConcurrent: 2 }, plain: { command: 'srv' } } }));
    const [slow, plain] = readServersFile(f, actor);
    expect(slow.limits).to.deep.equal({ timeoutMs: 120_000, maxConcurrent: 2 });
    expect(plain.limits).to.equal(undefined);
    writeFileSync(f, JSON.stringify({ mcpServers: { bad: { command: 'srv', timeoutMs: 0 } } }));
    expect(() => readServersFile(f, actor)).to.throw(/MCP_SERVERS_FILE: mcpServers\.bad\.timeoutMs/);
    writeFileSync(f, '{"servers": 3}');
    expect(() => readServersFile(f, actor)).to.throw(/MCP_SERVERS_FILE/);
    expect(splitToolName('github__create_issue')).to.deep.equal({ server: 'github', tool: 'create_issue' });
    expect(splitToolName('plain')).to.equal(undefined);
  });
});
