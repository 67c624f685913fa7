import { expect } from 'chai';
import { aliasToolName } from '../../src/core/tool-name';
import { encodeTaskCursor, encodeToolCallCursor } from '../../src/readmodels/cursor';
import { recordCall, type RecordCallParameters } from '../support/tool-call-events';
import { makeHarness, type Harness } from './support/harness';

type Call = { id: string; tenant: string; server: string; tool: string; status: string; arguments?: unknown; result?: unknown; argumentsHash?: string; resultHash?: string; taskId?: string; requestedAt?: string };

describe('REST /v1/tool-calls', () => {
  let h: Harness;
  let k: Record<string, string>;

  before(async () => {
    h = await makeHarness();
    k = {
      admin: (await h.key('admin', 'acme')).auth,
      operator: (await h.key('operator', 'acme')).auth,
      agent: (await h.key('agent', 'acme')).auth,
      auditor: (await h.key('auditor', 'acme')).auth,
      viewer: (await h.key('viewer', 'acme')).auth,
      beta: (await h.key('operator', 'beta')).auth,
      betaRoot: (await h.key('admin', 'beta', true)).auth,
    };
  });
  after(() => h.close());

  /** Record a call in the log and wait until the read models show it. */
  const call = async (p: Partial<RecordCallParameters> = {}) => {
    const c = await recordCall(h.store, { tenant: 'acme', ...p });
    expect(await h.deps.readModels.waitForPosition(c.position, 10_000)).to.equal(true);
    return c.id;
  };
  const list = async (query: string, auth = k.viewer) => {
    const res = await h.call({ method: 'GET', url: `/v1/tool-calls${query ? `?${query}` : ''}`, auth });
    expect(res.statusCode, res.body).to.equal(200);
    return res.json() as { items: Call[]; nextCursor?: string };
  };
  const ids = async (query: string, auth?: string) => (await list(query, auth)).items.map((c) => c.id);

  it('GET /v1/tool-calls/:id shows a call to every role of its tenant (tasks:read), arguments and result when recorded, hashes always', async () => {
    const id = await call({ arguments: { text: 'hello' }, result: { content: [{ type: 'text', text: 'hello' }] } });
    for (const role of ['admin', 'operator', 'agent', 'auditor', 'viewer']) {
      const res = await h.call({ method: 'GET', url: `/v1/tool-calls/${id}`, auth: k[role] });
      expect(res.statusCode, role).to.equal(200);
      expect(res.json(), role).to.deep.include({ id, tenant: 'acme', server: 'examples', tool: 'echo', status: 'completed', arguments: { text: 'hello' }, result: { content: [{ type: 'text', text: 'hello' }] }, isError: false, cached: false, latencyMs: 4 });
    }
    const hashed = (await h.call({ method: 'GET', url: `/v1/tool-calls/${await call({ policy: 'hash-only' })}`, auth: k.viewer })).json();
    expect(hashed.argumentsHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(hashed.resultHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(hashed).not.to.have.any.keys('arguments', 'result');
    expect((await h.call({ method: 'GET', url: `/v1/tool-calls/${id}` })).statusCode).to.equal(401);
  });

  it("shows a task's call as GET /v1/tasks/:id shows it in the step", async () => {
    const task = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'step' } }] } });
    const taskId = String(task.json().id);
    const id = await call({ taskId, arguments: { text: 'step' }, result: { content: [{ type: 'text', text: 'step' }] } });
    const step = (await h.call({ method: 'GET', url: `/v1/tasks/${taskId}`, auth: k.viewer })).json().steps[0];
    const shown = (await h.call({ method: 'GET', url: `/v1/tool-calls/${id}`, auth: k.viewer })).json();
    expect(step.toolCallId).to.equal(id);
    expect(shown).to.deep.include({ taskId, arguments: step.arguments, result: step.result, latencyMs: step.latencyMs, requestedAt: step.startedAt, completedAt: step.completedAt });
    expect(await ids(`taskId=${taskId}`)).to.deep.equal([id]);
  });

  it("keeps tenants apart: another tenant's calls are not listed, and one asked for by id is 404 (a cross-tenant admin's too)", async () => {
    const mine = await call({ server: 'isolated' });
    const theirs = await call({ tenant: 'beta', server: 'isolated' });
    expect(await ids('server=isolated')).to.deep.equal([mine]);
    expect(await ids('server=isolated', k.beta)).to.deep.equal([theirs]);
    expect(await ids('server=isolated', k.betaRoot)).to.deep.equal([theirs]);
    for (const auth of [k.beta, k.betaRoot]) {
      const res = await h.call({ method: 'GET', url: `/v1/tool-calls/${mine}`, auth });
      expect(res.statusCode).to.equal(404);
      expect(res.json()).to.include({ code: 'NOT_FOUND' });
    }
  });

  it('filters by server, tool, status, taskId and from/to (on requestedAt)', async () => {
    const task = '0193a000-0000-7000-8000-000000000001';
    const a = await call({ server: 'f1', tool: 'read', at: '2026-11-01T09:00:00.000Z' });
    const b = await call({ server: 'f1', tool: 'write', outcome: 'failed', at: '2026-11-01T10:00:00.000Z' });
    const c = await call({ server: 'w1', tool: 'read', outcome: 'none', taskId: task, at: '2026-11-01T11:00:00.000Z' });
    const d = await call({ server: 'w1', tool: 'fetch', taskId: task, at: '2026-11-02T00:00:00.000Z' });
    const range = 'from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00.000Z';
    expect(await ids(range)).to.deep.equal([d, c, b, a]);
    expect(await ids(`${range}&server=f1`)).to.deep.equal([b, a]);
    expect(await ids(`${range}&tool=read`)).to.deep.equal([c, a]);
    expect(await ids(`${range}&server=w1&tool=read`)).to.deep.equal([c]);
    expect(await ids(`${range}&status=failed`)).to.deep.equal([b]);
    expect(await ids(`${range}&status=requested`)).to.deep.equal([c]);
    expect(await ids(`taskId=${task}`)).to.deep.equal([d, c]);
    expect(await ids('from=2026-11-01T10:00:00%2B00:00&to=2026-11-01T12:00:00%2B01:00')).to.deep.equal([c, b]);
    expect(await ids(`${range}&server=f1&status=failed`)).to.deep.equal([b]);
  });

  // A user copies the name /mcp, the dashboard and the task steps show (`examples__echo`): it listed nothing, without a word.
  // A tool's own name may hold `__` too (another gateway behind this one): `tool` as its own name,
  // what it always meant, still finds it, with or without its server.
  it("tool takes the name the gateway serves (<server>__<tool>) as well as the upstream's own, which may hold __ too", async () => {
    const a = await call({ server: 'ns1', tool: 'echo' });
    const b = await call({ server: 'ns2', tool: 'echo' });
    // An upstream whose own tool name holds `__`: served as ns2__ns1__echo.
    const c = await call({ server: 'ns2', tool: 'ns1__echo' });
    // An own name whose part before `__` is no server of the tenant.
    const d = await call({ server: 'ns2', tool: 'get__thing' });
    expect(await ids('tool=ns1__echo')).to.deep.equal([c, a]);
    expect(await ids('server=ns1&tool=ns1__echo')).to.deep.equal([a]);
    expect(await ids('tool=ns2__echo')).to.deep.equal([b]);
    expect(await ids('tool=ns2__ns1__echo')).to.deep.equal([c]);
    expect(await ids('server=ns2&tool=echo')).to.deep.equal([b]);
    // server and the upstream's own name, as before the served name was taken: not a contradiction.
    expect(await ids('server=ns2&tool=ns1__echo')).to.deep.equal([c]);
    expect(await ids('tool=get__thing')).to.deep.equal([d]);
    expect(await ids('server=ns2&tool=get__thing')).to.deep.equal([d]);
    expect(await ids('server=ns9&tool=ns1__echo')).to.deep.equal([]);
  });

  // A tool whose name LLM hosts do not take is served by its alias (docs/architecture.md): the name a user copies.
  it("tool takes a tool's alias, as the gateway's catalog resolves it", async () => {
    const dotted = await call({ server: 'ns3', tool: 'read.file' });
    await call({ server: 'ns3', tool: 'write.file' });
    h.gateway.aliases.set('acme/ns3__read_file_1a2b3c4d', { server: 'ns3', tool: 'read.file' });
    expect(await ids('tool=ns3__read_file_1a2b3c4d')).to.deep.equal([dotted]);
    expect(await ids('server=ns3&tool=ns3__read_file_1a2b3c4d')).to.deep.equal([dotted]);
    // Another tenant's catalog is not this one's.
    expect(await ids('tool=ns3__read_file_1a2b3c4d', k.beta)).to.deep.equal([]);
  });

  // A server removed or renamed takes its aliases out of the catalog; its calls stay in the log.
  it('tool takes an alias the catalog no longer serves, as the calls recorded under it resolve it', async () => {
    const dotted = await call({ server: 'ns4', tool: 'read.file' });
    await call({ server: 'ns4', tool: 'write.file' });
    const alias = aliasToolName('ns4', 'read.file');
    expect(await ids(`tool=${alias}`)).to.deep.equal([dotted]);
    expect(await ids(`server=ns4&tool=${alias}`)).to.deep.equal([dotted]);
    expect(await ids(`tool=${alias}`, k.beta), "another tenant's calls do not resolve it").to.deep.equal([]);
  });

  // A client pages through one list: the catalog changing meanwhile (an alias added, a server
  // removed) does not change what its next pages are of.
  it('pages of a tool filter read the name as the first page did, whatever the catalog serves by then', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push(await call({ server: 'ns5', tool: 'x.y', at: `2026-10-02T00:00:0${i}.000Z` }));
    h.gateway.aliases.set('acme/ns5__x_y_00000000', { server: 'ns5', tool: 'x.y' });
    const first = await list('tool=ns5__x_y_00000000&limit=1');
    expect(first.items.map((c) => c.id)).to.deep.equal([made[2]]);
    h.gateway.aliases.delete('acme/ns5__x_y_00000000');
    const second = await list(`tool=ns5__x_y_00000000&limit=1&cursor=${first.nextCursor}`);
    expect(second.items.map((c) => c.id), 'the alias no longer served').to.deep.equal([made[1]]);
    // And the other way: a name that read as an upstream's own name goes on being read so.
    await call({ server: 'ns6', tool: 'plain', at: '2026-10-03T00:00:00.000Z' });
    const own = await call({ server: 'ns6', tool: 'ns6__new_11111111', at: '2026-10-03T00:00:01.000Z' });
    const own2 = await call({ server: 'ns6', tool: 'ns6__new_11111111', at: '2026-10-03T00:00:00.500Z' });
    const p1 = await list('tool=ns6__new_11111111&limit=1');
    expect(p1.items.map((c) => c.id)).to.deep.equal([own]);
    h.gateway.aliases.set('acme/ns6__new_11111111', { server: 'ns6', tool: 'plain' });
    const p2 = await list(`tool=ns6__new_11111111&limit=1&cursor=${p1.nextCursor}`);
    expect(p2.items.map((c) => c.id), 'an alias added since').to.deep.equal([own2]);
    expect(p2.nextCursor).to.equal(undefined);
    h.gateway.aliases.delete('acme/ns6__new_11111111');
    // A cursor of one tool filter is not one of another (nor of none): 400, not pages of a list the client did not ask for.
    for (const q of ['tool=ns5__other', 'server=ns5']) {
      const res = await h.call({ method: 'GET', url: `/v1/tool-calls?${q}&limit=1&cursor=${first.nextCursor}`, auth: k.viewer });
      expect([res.statusCode, res.json().code, res.json().field], q).to.deep.equal([400, 'INVALID_CURSOR', 'cursor']);
      expect(res.json().detail, q).to.contain('ns5__x_y_00000000');
    }
  });

  // A cursor is the caller's text: the reading it carries says which calls, never whose.
  it("a cursor forged to read tool as another tenant's server and tool lists none of that tenant's calls", async () => {
    const theirs = await call({ tenant: 'beta', server: 'ns7-beta', tool: 'secret' });
    const forged = encodeToolCallCursor({ requestedAt: '2999-01-01T00:00:00.000Z', id: 'z', reading: { tool: 'x__y', served: { server: 'ns7-beta', tool: 'secret' } } });
    expect(await ids(`tool=x__y&cursor=${forged}`, k.beta), 'the reading is followed').to.deep.equal([theirs]);
    expect(await ids(`tool=x__y&cursor=${forged}`)).to.deep.equal([]);
    expect(await ids(`tool=x__y&cursor=${forged}`, k.admin)).to.deep.equal([]);
  });

  it('pages newest first with the cursor; calls recorded while a client pages land before its first page, none repeats', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push(await call({ server: 'paged', at: `2026-10-01T00:00:0${i}.000Z` }));
    const seen: string[] = [];
    let page = await list('server=paged&limit=2');
    for (;;) {
      seen.push(...page.items.map((c) => c.id));
      expect(page.items.length).to.be.at.most(2);
      await call({ server: 'paged' }); // now: newer than every call above
      if (!page.nextCursor) break;
      page = await list(`server=paged&limit=2&cursor=${page.nextCursor}`);
    }
    expect(seen).to.deep.equal([...made].reverse());
    expect((await list('server=paged&limit=200')).items).to.have.length(8);
  });

  it('400 naming the field for a bad filter, limit, time, cursor or id, and for unknown query fields', async () => {
    for (const [q, field] of [
      ['status=done', 'querystring.status'],
      ['taskId=not-a-task', 'querystring.taskId'],
      ['server=', 'querystring.server'],
      [`tool=${'x'.repeat(201)}`, 'querystring.tool'],
      ['from=yesterday', 'querystring.from'],
      ['to=2026-13-01T00:00:00Z', 'querystring.to'],
      ['limit=0', 'querystring.limit'],
      ['limit=201', 'querystring.limit'],
      ['cursor=%27%3B--', 'querystring.cursor'],
      ['tenant=beta', 'querystring.tenant'],
    ]) {
      const res = await h.call({ method: 'GET', url: `/v1/tool-calls?${q}`, auth: k.viewer });
      expect(res.statusCode, q).to.equal(400);
      expect(res.json(), q).to.include({ code: 'VALIDATION_FAILED', field });
    }
    // Well-formed base64url that this list did not issue: a forgery, a task-list cursor, an events cursor.
    for (const cursor of ['bm90LWEtY3Vyc29y', encodeTaskCursor({ createdAt: '2026-11-01T00:00:00.000Z', id: 'x' }), 'WyJldmVudHMiLDVd']) {
      const res = await h.call({ method: 'GET', url: `/v1/tool-calls?cursor=${cursor}`, auth: k.viewer });
      expect([res.statusCode, res.json().code, res.json().field], cursor).to.deep.equal([400, 'INVALID_CURSOR', 'cursor']);
    }
    const bad = await h.call({ method: 'GET', url: '/v1/tool-calls/toolcall-1', auth: k.viewer });
    expect([bad.statusCode, bad.json().field]).to.deep.equal([400, 'params.id']);
    const none = await h.call({ method: 'GET', url: '/v1/tool-calls/0193a000-0000-7000-8000-0000000000ff', auth: k.viewer });
    expect([none.statusCode, none.json().code]).to.deep.equal([404, 'NOT_FOUND']);
  });
});
