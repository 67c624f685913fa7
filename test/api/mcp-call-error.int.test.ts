import { expect } from 'chai';
import type { RecordedEvent } from '../../src/core/envelope';
import type { PayloadPolicy } from '../../src/mcp/audit';
import type { McpGateway } from '../../src/mcp/gateway';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { LEAKY_DSN, LEAKY_SECRETS, startLeakyUpstream, type LeakyUpstream } from '../mcp/support/leaky-upstream';
import { until } from '../mcp/support/until';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';

const SECRETS = Object.values(LEAKY_SECRETS);
const { token, password, code } = LEAKY_SECRETS;
const TOOLS = ['reject', 'garbled', 'forget'] as const;
const actor = { kind: 'user' as const, id: 'alice' };
const READ_MODELS = ['rm_tasks', 'rm_task_steps', 'rm_task_step_runs', 'rm_tool_calls', 'rm_audit_events', 'rm_mcp_servers'];

type Failure = { code?: string; rpcCode?: number; message: string };

/**
 * A real upstream (over streamable HTTP) whose answers to tools/call hold secrets: a JSON-RPC
 * error quoting a DSN with its password and an API key, a result that is not JSON (the parser's
 * error quotes it), a protocol version made of the key on the re-initialize after its session
 * expired (the SDK's error quotes it). What the gateway records of the failed calls, and what
 * REST and the read models show of them, under each MCP_PAYLOAD_POLICY; the caller is told the
 * whole error under both.
 */
describe("MCP gateway: a failed tool call's error, the upstream's own text and MCP_PAYLOAD_POLICY", function () {
  this.timeout(60_000);

  async function setUp(payloadPolicy: PayloadPolicy) {
    const upstream = await startLeakyUpstream();
    const { h, gw, close } = await makeGatewayHarness({}, 10_000, { payloadPolicy, cacheTtlMs: 0 });
    const admin = (await h.key('admin', 'acme', true)).auth;
    const reg = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: admin, payload: { name: 'leaky', transport: 'http', url: upstream.url } });
    expect(reg.statusCode, reg.body).to.equal(201);
    expect(reg.json()).to.include({ health: 'up' });
    const task = await h.call({ method: 'POST', url: '/v1/tasks', auth: admin, payload: { steps: TOOLS.map((t) => ({ tool: `leaky__${t}`, arguments: {} })) } });
    expect(task.statusCode, task.body).to.equal(202);
    const taskId = String(task.json().id);
    const errors: Failure[] = [];
    for (const t of TOOLS) errors.push((await gw.callTool({ tenant: 'acme', actor, taskId }, `leaky__${t}`, {}).then(() => ({ message: 'no error' }), (e: unknown) => e)) as Failure);
    const failed = (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallFailed');
    return { h, gw, upstream, admin, taskId, errors, failed, close: async () => (await close(), await upstream.close()) };
  }
  type Setup = { h: Harness; gw: McpGateway; upstream: LeakyUpstream; admin: string; taskId: string; errors: Failure[]; failed: RecordedEvent[]; close(): Promise<void> };

  /** Every place a reader could see a call's error: the log, REST (events, the task, its trail, the list, the servers), the read models' rows. */
  async function everything(t: Setup): Promise<Record<string, string>> {
    await until('the read model has every call failed', async () => (await t.h.knex('rm_tool_calls').where({ status: 'failed' })).length === 3);
    const get = async (url: string) => (await t.h.call({ method: 'GET', url, auth: t.admin })).body;
    const seen: Record<string, string> = {
      log: JSON.stringify(await t.h.store.readAll({ limit: 10_000 })),
      'GET /v1/events': await get('/v1/events?limit=1000'),
      'GET /v1/tasks/:id': await get(`/v1/tasks/${t.taskId}`),
      'GET /v1/tasks/:id/events': await get(`/v1/tasks/${t.taskId}/events`),
      'GET /v1/tasks': await get('/v1/tasks'),
      'GET /v1/tool-calls': await get('/v1/tool-calls'),
      'GET /v1/mcp-servers': await get('/v1/mcp-servers'),
    };
    for (const table of READ_MODELS) seen[table] = JSON.stringify(await t.h.knex(table).select());
    return seen;
  }

  /** The calls as GET /v1/tool-calls shows them, oldest first: each one's error. */
  async function listedErrors(t: Setup): Promise<unknown[]> {
    const page = (await t.h.call({ method: 'GET', url: `/v1/tool-calls?taskId=${t.taskId}`, auth: t.admin })).json() as { items: { error?: unknown }[] };
    return page.items.map((c) => c.error).reverse();
  }

  /** The task's steps as REST shows them: each call's error. */
  async function stepErrors(t: Setup): Promise<unknown[]> {
    const view = (await t.h.call({ method: 'GET', url: `/v1/tasks/${t.taskId}`, auth: t.admin })).json() as { steps: { error?: unknown }[] };
    return view.steps.map((s) => s.error);
  }

  function callerWasToldEverything(errors: Failure[]): void {
    const [reject, garbled, forget] = errors;
    expect(reject).to.include({ code: 'MCP_UPSTREAM_ERROR', rpcCode: -32050 });
    expect(reject.message).to.equal(`license check failed for ${LEAKY_DSN} with key ${token}`);
    expect(garbled.code).to.equal('MCP_UPSTREAM_UNAVAILABLE');
    expect(garbled.message).to.match(/^leaky \(http:\/\/127\.0\.0\.1:\d+\/mcp\): Unexpected token .* is not valid JSON$/).and.include(code);
    expect(forget.code).to.equal('MCP_UPSTREAM_UNAVAILABLE');
    expect(forget.message).to.match(/^leaky \(http:\/\/127\.0\.0\.1:\d+\/mcp\): Server's protocol version is not supported: /).and.include(token);
  }

  describe('hash-only', () => {
    let t: Setup;
    before(async () => (t = await setUp('hash-only')));
    after(async () => t?.close());

    it("records the gateway's own classification and the message's digest, never its text; REST and the read models show the same; the caller is told everything", async () => {
      callerWasToldEverything(t.errors);
      const withheld = (e: Failure) => `message withheld (MCP_PAYLOAD_POLICY=hash-only), sha256 ${payloadDigest(e.message).hash}`;
      const [reject, garbled, forget] = t.errors;
      const recorded = [
        { code: 'MCP_UPSTREAM_ERROR', message: `-32050: upstream error ${withheld(reject)}` },
        { code: 'MCP_UPSTREAM_UNAVAILABLE', message: `the upstream's answer could not be read (not JSON, or not the shape MCP requires); ${withheld(garbled)}` },
        { code: 'MCP_UPSTREAM_UNAVAILABLE', message: `an unclassified failure; ${withheld(forget)}` },
      ];
      const seen = await everything(t);
      for (const [where, text] of Object.entries(seen)) for (const s of SECRETS) expect(text, where).to.not.include(s);
      expect(t.failed.map((e) => (e.data as { error: unknown }).error)).to.deep.equal(recorded);
      expect(t.failed.map((e) => (e.data as { tool: string }).tool)).to.deep.equal([...TOOLS]);
      expect(await stepErrors(t)).to.deep.equal(recorded);
      expect(await listedErrors(t)).to.deep.equal(recorded);
    });
  });

  describe('store', () => {
    let t: Setup;
    before(async () => (t = await setUp('store')));
    after(async () => t?.close());

    it("keeps the upstream's message as before, with a URL's credentials redacted; REST and the read models show the same; the caller is told everything", async () => {
      callerWasToldEverything(t.errors);
      const [, garbled, forget] = t.errors;
      const recorded = [
        { code: 'MCP_UPSTREAM_ERROR', message: `-32050: license check failed for postgres://***:***@db.internal/app with key ${token}` },
        { code: 'MCP_UPSTREAM_UNAVAILABLE', message: garbled.message },
        { code: 'MCP_UPSTREAM_UNAVAILABLE', message: forget.message },
      ];
      const seen = await everything(t);
      for (const [where, text] of Object.entries(seen)) expect(text, where).to.not.include(password);
      expect(t.failed.map((e) => (e.data as { error: unknown }).error)).to.deep.equal(recorded);
      expect(seen.rm_tool_calls).to.include(token).and.include(code);
      expect(await stepErrors(t)).to.deep.equal(recorded);
      expect(await listedErrors(t)).to.deep.equal(recorded);
    });
  });
});
