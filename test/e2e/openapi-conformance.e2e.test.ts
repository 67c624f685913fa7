import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';
import { undeclared } from '../api/support/undeclared';
import { EXAMPLES_STDIO_SERVER } from '../../src/mcp/examples-server';

type Media = { schema: Record<string, unknown> };
type Operation = { operationId?: string; responses: Record<string, { content?: Record<string, Media> }> };
type OpenApi = { openapi: string; paths: Record<string, Record<string, Operation>>; components?: Record<string, unknown> };

/**
 * What a client generated from /docs relies on, checked on a real `openmcp start` (embedded
 * default) over HTTP: every answer of every REST operation, successes and refusals alike, has a
 * status the operation documents, the content type documented for it, and a body that its
 * documented schema accepts (types, required fields, enums, patterns, no undeclared field). The
 * schemas are read from the served document itself, as a client generator reads them.
 */
describe('REST answers match the OpenAPI document the gateway serves (/docs)', function () {
  this.timeout(240_000);
  let gw: GatewayProcess | undefined;
  let doc: OpenApi;
  let admin = '';
  let serversDir: string | undefined;
  /** `METHOD /path/{template}` of every operation an answer was checked for. */
  const checked = new Set<string>();
  const mismatches: string[] = [];

  before(async () => {
    // A server with the example's test tools: `slow__sleep` holds a task running until it is cancelled.
    serversDir = mkdtempSync(join(tmpdir(), 'omc-conformance-'));
    const servers = join(serversDir, 'servers.json');
    writeFileSync(servers, JSON.stringify({ mcpServers: { slow: { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), EXAMPLES_STDIO_SERVER], env: { MCP_EXAMPLE_TEST_TOOLS: 'on' } } } }));
    gw = await startGatewayProcess({ RATE_LIMIT_AUTH_FAILURES: '3', MCP_SERVERS_FILE: servers });
    admin = readFileSync(join(gw.dataDir, 'admin.key'), 'utf8').trim();
    doc = (await (await fetch(`${gw.url}/docs`)).json()) as OpenApi;
  });
  after(async () => {
    await gw?.stop('SIGKILL');
    if (gw) rmSync(gw.dataDir, { recursive: true, force: true });
    if (serversDir) rmSync(serversDir, { recursive: true, force: true });
  });

  /**
   * Send a request and check its answer against the operation `method template` of the document,
   * and its status against `expected` (one of them, where a race decides): every operation
   * documents 500, so a route failing on every request would conform. A mismatch is collected (all
   * are reported at the end, not only the first). Returns the body.
   */
  async function exchange(expected: number | number[], method: string, template: string, url: string, o: { key?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: any; headers: Headers }> {
    const headers: Record<string, string> = { ...(o.key === null ? {} : { authorization: `Bearer ${o.key ?? admin}` }), ...o.headers };
    if (o.body !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${gw!.url}${url}`, { method, headers, body: o.raw ?? (o.body === undefined ? undefined : JSON.stringify(o.body)) });
    const text = await res.text();
    const body = text ? JSON.parse(text) : undefined;
    const name = `${method} ${template}`;
    checked.add(name);
    if (![expected].flat().includes(res.status)) mismatches.push(`${name} (${url}): ${res.status}, expected ${[expected].flat().join(' or ')}: ${text.slice(0, 200)}`);
    const op = doc.paths[template]?.[method.toLowerCase()];
    if (!op) {
      mismatches.push(`${name}: not in the document`);
      return { status: res.status, body, headers: res.headers };
    }
    const documented = op.responses[String(res.status)];
    if (!documented) {
      mismatches.push(`${name} (${url}): ${res.status} not documented (${Object.keys(op.responses).join(', ')}): ${text.slice(0, 200)}`);
      return { status: res.status, body, headers: res.headers };
    }
    const type = (res.headers.get('content-type') ?? '').split(';')[0].trim();
    if (!documented.content) {
      if (text) mismatches.push(`${name} ${res.status}: a body (${type}) where none is documented`);
      return { status: res.status, body, headers: res.headers };
    }
    const media = documented.content[type];
    if (!media) {
      mismatches.push(`${name} ${res.status}: sent as ${type}, documented as ${Object.keys(documented.content).join(', ')}`);
      return { status: res.status, body, headers: res.headers };
    }
    const schema = z.fromJSONSchema({ ...media.schema, components: doc.components } as Parameters<typeof z.fromJSONSchema>[0], { defaultTarget: 'openapi-3.0' });
    const parsed = schema.safeParse(body);
    if (!parsed.success) mismatches.push(`${name} ${res.status}: ${parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    const extra = undeclared(body, media.schema as Parameters<typeof undeclared>[1]);
    if (extra.length > 0) mismatches.push(`${name} ${res.status}: undeclared ${extra.join(', ')}`);
    return { status: res.status, body, headers: res.headers };
  }

  /** Read `url` until `done` says so (a task running, a batch being anchored); bounded by the test's timeout. */
  async function until(url: string, done: (status: number, body: any) => boolean): Promise<void> {
    for (;;) {
      const res = await fetch(`${gw!.url}${url}`, { headers: { authorization: `Bearer ${admin}` } });
      if (done(res.status, await res.json())) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  it('the document is OpenAPI 3 and every operation has a stable operationId', () => {
    expect(doc.openapi).to.match(/^3\.0\.\d+$/);
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) expect(op.operationId, `${method} ${path}`).to.be.a('string');
    }
  });

  it('/mcp sends the headers the document declares for it (RateLimit-*, as REST answers do; before the failed authentications below hold the address)', async () => {
    const declared = Object.keys((doc.paths['/mcp'].post.responses['200'] as { headers?: Record<string, unknown> }).headers ?? {});
    expect(declared).to.include.members(['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']);
    const res = await fetch(`${gw!.url}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'conformance', version: '1' } } }),
    });
    await res.text();
    expect(res.status).to.equal(200);
    for (const name of declared) expect(res.headers.get(name), name).to.match(/^\d+$/);
  });

  it('every REST operation: its answers, successes and refusals, are documented and validate against the served schemas', async () => {
    // Keys: create, list, change, revoke; refusals.
    const viewer = await exchange(201, 'POST', '/v1/keys', '/v1/keys', { body: { role: 'viewer', tenant: 'acme' } });
    expect(viewer.status).to.equal(201);
    const operator = await exchange(201, 'POST', '/v1/keys', '/v1/keys', { body: { role: 'operator', tenant: 'acme', agents: ['a1'] } });
    expect(operator.status).to.equal(201);
    await exchange(400, 'POST', '/v1/keys', '/v1/keys', { body: { role: 'wizard', tenant: 'acme' } });
    // With an Idempotency-Key: issued once; a retry names the key (409, never the secret); another body 422.
    const mint = { 'idempotency-key': 'conformance-key-1' };
    const minted = await exchange(201, 'POST', '/v1/keys', '/v1/keys', { body: { role: 'viewer', tenant: 'acme' }, headers: mint });
    const reminted = await exchange(409, 'POST', '/v1/keys', '/v1/keys', { body: { role: 'viewer', tenant: 'acme' }, headers: mint });
    expect(reminted.body).to.include({ code: 'API_KEY_ALREADY_ISSUED', keyId: minted.body.id });
    expect(reminted.headers.get('idempotent-replayed')).to.equal('true');
    await exchange(422, 'POST', '/v1/keys', '/v1/keys', { body: { role: 'auditor', tenant: 'acme' }, headers: mint });
    await exchange(403, 'POST', '/v1/keys', '/v1/keys', { key: viewer.body.key, body: { role: 'viewer', tenant: 'acme' } });
    await exchange(200, 'GET', '/v1/keys', '/v1/keys?limit=1');
    await exchange(400, 'GET', '/v1/keys', '/v1/keys?cursor=AAAA');
    await exchange(200, 'PATCH', '/v1/keys/{id}', `/v1/keys/${operator.body.id}`, { body: { agents: ['a1', 'a2'] } });
    await exchange(400, 'PATCH', '/v1/keys/{id}', `/v1/keys/${operator.body.id}`, { body: { agents: 'a1' } });
    await exchange(204, 'DELETE', '/v1/keys/{id}', `/v1/keys/${operator.body.id}`);
    await exchange(409, 'DELETE', '/v1/keys/{id}', `/v1/keys/${operator.body.id}`); // 409 revoked already
    await exchange(404, 'DELETE', '/v1/keys/{id}', '/v1/keys/01a24dbd-2b81-7149-8887-50ea0db92900'); // 404

    // Tasks: submit (with and without an Idempotency-Key, and its replay), run, read, refusals.
    const steps = { steps: [{ tool: 'examples__echo', arguments: { text: 'conformance' } }] };
    const task = await exchange(202, 'POST', '/v1/tasks', '/v1/tasks', { body: steps });
    expect(task.status).to.equal(202);
    const idem = { 'idempotency-key': 'conformance-1' };
    await exchange(202, 'POST', '/v1/tasks', '/v1/tasks', { body: steps, headers: idem });
    const replay = await exchange(202, 'POST', '/v1/tasks', '/v1/tasks', { body: steps, headers: idem });
    expect(replay.headers.get('idempotent-replayed')).to.equal('true');
    await exchange(422, 'POST', '/v1/tasks', '/v1/tasks', { body: { steps: [{ tool: 'examples__echo', arguments: { text: 'other' } }] }, headers: idem }); // 422
    await exchange(422, 'POST', '/v1/tasks', '/v1/tasks', { body: { instruction: 'no LLM here' } }); // 422 LLM_NOT_CONFIGURED
    await exchange(400, 'POST', '/v1/tasks', '/v1/tasks', { body: { steps: [{ arguments: {} }] } }); // 400
    await exchange(400, 'POST', '/v1/tasks', '/v1/tasks', { raw: '{"steps":', headers: { 'content-type': 'application/json' } }); // 400 MALFORMED_JSON
    await exchange(415, 'POST', '/v1/tasks', '/v1/tasks', { raw: 'steps', headers: { 'content-type': 'text/plain' } }); // 415
    await exchange(413, 'POST', '/v1/tasks', '/v1/tasks', { body: { instruction: 'x'.repeat(1_100_000) } }); // 413
    await exchange(403, 'POST', '/v1/tasks', '/v1/tasks', { key: viewer.body.key, body: steps }); // 403
    await exchange(401, 'POST', '/v1/tasks', '/v1/tasks', { key: null, body: steps }); // 401
    await until(`/v1/tasks/${task.body.id}`, (s, b) => s === 200 && b.status === 'completed');
    await exchange(200, 'GET', '/v1/tasks', '/v1/tasks?limit=2');
    await exchange(200, 'GET', '/v1/tasks', '/v1/tasks?status=completed&from=2020-01-01T00:00:00Z');
    await exchange(400, 'GET', '/v1/tasks', '/v1/tasks?cursor=AAAA'); // 400 INVALID_CURSOR
    await exchange(400, 'GET', '/v1/tasks', '/v1/tasks?from=yesterday'); // 400
    await exchange(200, 'GET', '/v1/tasks/{id}', `/v1/tasks/${task.body.id}`);
    await exchange(404, 'GET', '/v1/tasks/{id}', `/v1/tasks/${task.body.id}`, { key: viewer.body.key });
    await exchange(400, 'GET', '/v1/tasks/{id}', '/v1/tasks/not-an-id'); // 400
    await exchange(404, 'GET', '/v1/tasks/{id}', '/v1/tasks/01a24dbd-2b81-7149-8887-50ea0db92900'); // 404
    await exchange(414, 'GET', '/v1/tasks/{id}', `/v1/tasks/${'a'.repeat(600)}`); // 414
    await exchange(200, 'GET', '/v1/tasks/{id}/events', `/v1/tasks/${task.body.id}/events?limit=2`);
    await exchange(409, 'POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${task.body.id}/cancel`, { body: { reason: 'done already' } }); // 409
    // A cancel that is taken: a task still running (its step waits ten minutes, or its cancel), once
    // seen running (was: `examples__sleep`, a tool the default examples server does not serve, so
    // the task failed at once, and the cancel answered 202 only when it came first; in CI once 409).
    await until('/v1/tools?q=sleep', (st, b) => st === 200 && b.items.some((t: { name: string }) => t.name === 'slow__sleep'));
    const ended: string[] = [];
    for (let attempt = 0; attempt < 3; attempt++) {
      const slow = await exchange(202, 'POST', '/v1/tasks', '/v1/tasks', { body: { steps: [{ tool: 'slow__sleep', arguments: { ms: 600_000 } }] } });
      let seen: { status?: string; error?: unknown } = {};
      await until(`/v1/tasks/${slow.body.id}`, (st, b) => st === 200 && ['running', 'completed', 'failed', 'cancelled'].includes((seen = b).status ?? ''));
      if (seen.status !== 'running') {
        ended.push(`${slow.body.id} ${seen.status}: ${JSON.stringify(seen.error ?? null).slice(0, 300)}`);
        continue;
      }
      await exchange(202, 'POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${slow.body.id}/cancel`, { body: { reason: 'conformance' } });
      break;
    }
    if (ended.length) console.warn(`openapi conformance: a ten-minute task ended before its cancel: ${ended.join('; ')}`);
    if (ended.length === 3) mismatches.push(`POST /v1/tasks/{id}/cancel: no task stayed running to be cancelled: ${ended.join('; ')}`);
    await exchange([202, 409], 'POST', '/v1/tasks/{id}/cancel', `/v1/tasks/${replay.body.id}/cancel`, { body: {} }); // 409 once it completed
    await exchange(409, 'POST', '/v1/tasks/{id}/approvals', `/v1/tasks/${task.body.id}/approvals`, { body: { proposalHash: `0x${'0'.repeat(64)}`, decision: 'approve' } });
    await exchange(400, 'POST', '/v1/tasks/{id}/approvals', `/v1/tasks/${task.body.id}/approvals`, { body: { decision: 'maybe' } }); // 400

    // Tool calls and events of the task.
    const calls = await exchange(200, 'GET', '/v1/tool-calls', `/v1/tool-calls?taskId=${task.body.id}`);
    expect(calls.body.items).to.have.length(1);
    await exchange(400, 'GET', '/v1/tool-calls', '/v1/tool-calls?status=nope'); // 400
    await exchange(200, 'GET', '/v1/tool-calls/{id}', `/v1/tool-calls/${calls.body.items[0].id}`);
    await exchange(404, 'GET', '/v1/tool-calls/{id}', '/v1/tool-calls/01a24dbd-2b81-7149-8887-50ea0db92900'); // 404
    const events = await exchange(200, 'GET', '/v1/events', `/v1/events?stream=task-${task.body.id}`);
    await exchange(200, 'GET', '/v1/events', '/v1/events?type=TaskCompleted&limit=1');
    await exchange(400, 'GET', '/v1/events', '/v1/events?after=x'); // 400
    const first = events.body.items[0];
    await exchange(200, 'GET', '/v1/events/{id}', `/v1/events/${first.id}`);
    await exchange(404, 'GET', '/v1/events/{id}', '/v1/events/01a24dbd-2b81-7149-8887-50ea0db92900'); // 404

    // Proofs and batches: a proof once its batch is anchored (409 PROOF_PENDING before).
    await exchange([409, 200], 'GET', '/v1/events/{id}/proof', `/v1/events/${first.id}/proof`); // 409 PROOF_PENDING until anchored
    await until(`/v1/events/${first.id}/proof`, (s) => s === 200);
    await exchange(200, 'GET', '/v1/events/{id}/proof', `/v1/events/${first.id}/proof`);
    const batches = await exchange(200, 'GET', '/v1/batches', '/v1/batches?limit=1');
    const batchId = batches.body.items[0].id;
    await exchange(200, 'GET', '/v1/batches/{id}', `/v1/batches/${batchId}`);
    await exchange(404, 'GET', '/v1/batches/{id}', '/v1/batches/999999'); // 404
    await exchange(200, 'GET', '/v1/batches/{id}/events', `/v1/batches/${batchId}/events`);
    await exchange(403, 'GET', '/v1/batches/{id}/events', `/v1/batches/${batchId}/events`, { key: viewer.body.key }); // 403 not cross-tenant

    // MCP servers and tools.
    await exchange(200, 'GET', '/v1/mcp-servers', '/v1/mcp-servers');
    await exchange(200, 'GET', '/v1/tools', '/v1/tools?q=echo');
    const added = await exchange(201, 'POST', '/v1/mcp-servers', '/v1/mcp-servers', { body: { name: 'conformance', transport: 'http', url: 'http://127.0.0.1:9/mcp' } });
    await exchange(400, 'POST', '/v1/mcp-servers', '/v1/mcp-servers', { body: { name: 'Bad Name!' } }); // 400
    if (added.status === 201) {
      await exchange(204, 'DELETE', '/v1/mcp-servers/{id}', `/v1/mcp-servers/${added.body.id}`);
      await exchange(409, 'DELETE', '/v1/mcp-servers/{id}', `/v1/mcp-servers/${added.body.id}`); // 409 removed already
    }
    await exchange(404, 'DELETE', '/v1/mcp-servers/{id}', '/v1/mcp-servers/01a24dbd-2b81-7149-8887-50ea0db92900'); // 404

    // Subjects, health.
    await exchange(404, 'DELETE', '/v1/subjects/{subject}/key', '/v1/subjects/acme:user:nobody/key'); // 404 SUBJECT_NOT_FOUND
    await exchange(404, 'GET', '/v1/subjects/{subject}', '/v1/subjects/acme:user:nobody'); // 404 SUBJECT_NOT_FOUND
    // The subject index (2026-12-11): the admin key's own events (it submitted the tasks above), refusals.
    const own = await exchange(200, 'GET', '/v1/subjects/{subject}/events', `/v1/subjects/${encodeURIComponent(`acme:${first.actor.kind}:${first.actor.id}`)}/events?limit=2`);
    expect(own.body.items.length).to.be.greaterThan(0);
    // include=details (2026-12-11): with the page, its tasks (the task above, in the admin's tenant), their trails and the calls, in the schemas of their own routes.
    const detailed = await exchange(200, 'GET', '/v1/subjects/{subject}/events', `/v1/subjects/${encodeURIComponent(`${first.tenant}:${first.actor.kind}:${first.actor.id}`)}/events?limit=1000&include=details`);
    expect(detailed.body.tasks.map((t: { id: string }) => t.id)).to.include(task.body.id);
    expect(detailed.body.taskEvents.map((e: { stream: string }) => e.stream)).to.include(`task-${task.body.id}`);
    expect(detailed.body.toolCalls.map((c: { id: string }) => c.id)).to.include(calls.body.items[0].id);
    await exchange(400, 'GET', '/v1/subjects/{subject}/events', '/v1/subjects/acme:user:nobody/events?include=all'); // 400
    await exchange(400, 'GET', '/v1/subjects/{subject}/events', '/v1/subjects/not-a-subject/events'); // 400
    await exchange(400, 'GET', '/v1/subjects/{subject}/events', '/v1/subjects/acme:user:nobody/events?cursor=AAAA'); // 400 INVALID_CURSOR
    await exchange(403, 'GET', '/v1/subjects/{subject}/events', '/v1/subjects/acme:user:nobody/events', { key: viewer.body.key }); // 403
    await exchange(200, 'GET', '/healthz', '/healthz', { key: null });
    await exchange(200, 'GET', '/readyz', '/readyz', { key: null });

    // Failed authentications past RATE_LIMIT_AUTH_FAILURES: 401, then 429 from that address. The
    // windows are whole minutes of the clock, so the 401 above may fall in the one before: keep
    // failing (at most twice the limit and one) until the 429, each answer checked.
    let failed = 0;
    for (let i = 0; i < 7 && failed !== 429; i++) failed = (await exchange([401, 429], 'GET', '/v1/tasks', '/v1/tasks', { key: `omk_${'A'.repeat(42)}${i}` })).status;
    expect(failed, 'a 429 once the failed authentications pass RATE_LIMIT_AUTH_FAILURES').to.equal(429);

    expect(mismatches).to.deep.equal([]);
    const operations = Object.entries(doc.paths).flatMap(([path, ops]) => (path === '/mcp' ? [] : Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    expect(operations.filter((o) => !checked.has(o)), 'operations no answer was checked for').to.deep.equal([]);
  });

  it('every path of the document, asked with a method it does not list: 405 METHOD_NOT_ALLOWED, a problem of the served schema, Allow naming exactly its operations (HEAD with GET), before the key', async () => {
    const problem = Object.values(doc.paths['/v1/tasks'].post.responses['400'].content!)[0].schema;
    const schema = z.fromJSONSchema({ ...problem, components: doc.components } as Parameters<typeof z.fromJSONSchema>[0], { defaultTarget: 'openapi-3.0' });
    const wrong: string[] = [];
    for (const [template, ops] of Object.entries(doc.paths)) {
      const listed = Object.keys(ops).map((m) => m.toUpperCase());
      const served = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter((m) => listed.includes(m) || (m === 'HEAD' && listed.includes('GET') && template !== '/mcp'));
      const method = ['PUT', 'PATCH', 'DELETE', 'POST'].find((m) => !served.includes(m))!;
      const url = template.replace(/\{[^}]+\}/g, '01a24dbd-2b81-7149-8887-50ea0db92900');
      const res = await fetch(`${gw!.url}${url}`, { method });
      const body = (await res.json()) as any;
      const allow = res.headers.get('allow');
      if (res.status !== 405 || allow !== served.join(', ')) wrong.push(`${method} ${url}: ${res.status}, Allow ${allow} (documented ${served.join(', ')})`);
      if (template === '/mcp') {
        if (body?.error?.data?.code !== 'METHOD_NOT_ALLOWED') wrong.push(`${method} /mcp: ${JSON.stringify(body)}`);
        continue;
      }
      if (!res.headers.get('content-type')?.startsWith('application/problem+json')) wrong.push(`${method} ${url}: sent as ${res.headers.get('content-type')}`);
      if (!schema.safeParse(body).success || body.code !== 'METHOD_NOT_ALLOWED') wrong.push(`${method} ${url}: ${JSON.stringify(body)}`);
    }
    expect(wrong).to.deep.equal([]);
  });
});
