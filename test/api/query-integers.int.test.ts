import { expect } from 'chai';
import { makeHarness, type Harness } from './support/harness';

/**
 * Integer query parameters (`limit`, `after`, `k`) were read with z.coerce.number(): `limit=1e2`
 * and `limit=0x10` were taken as 100 and 16, ` 5` as 5, an empty `limit=` as 0 ("Too small:
 * expected number to be >=1", though none was given) and a repeated `limit=1&limit=2` as NaN
 * ("expected number, received NaN").
 */
describe('REST /v1: integer query parameters are decimal digits; every query parameter is given once', () => {
  let h: Harness;
  let auth: string;
  let task: string;

  before(async () => {
    h = await makeHarness();
    auth = (await h.key('admin', 'acme', true)).auth;
    const res = await h.call({ method: 'POST', url: '/v1/tasks', auth, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'q' } }] } });
    task = String(res.json().id);
  });
  after(() => h.close());

  const get = (url: string) => h.call({ method: 'GET', url, auth });
  const routes = () => [
    { path: '/v1/tasks', name: 'limit', range: '1 to 200' },
    { path: '/v1/tool-calls', name: 'limit', range: '1 to 200' },
    { path: '/v1/events', name: 'limit', range: '1 to 1000' },
    { path: '/v1/events', name: 'after', range: '-1 to 9007199254740991' },
    { path: `/v1/tasks/${task}/events`, name: 'limit', range: '1 to 1000' },
    { path: `/v1/tasks/${task}/events`, name: 'after', range: '-1 to 9007199254740991' },
    { path: '/v1/batches', name: 'limit', range: '1 to 200' },
    { path: '/v1/keys', name: 'limit', range: '1 to 200' },
    { path: '/v1/tools?q=echo', name: 'k', range: '1 to 50' },
  ];
  const url = (path: string, query: string) => `${path}${path.includes('?') ? '&' : '?'}${query}`;

  it('a cursor the list did not issue is INVALID_CURSOR saying what to do, on every list in the same words (events, keys and batches said only "cursor is not one this server issued")', async () => {
    const tasksCursor = 'eyJjIjoiMjAyNi0xMi0wNlQyMzo0NDo0NS4xODdaIiwiaSI6ImEifQ'; // {"c":"2026-12-06T23:44:45.187Z","i":"a"}: the task list's
    for (const path of ['/v1/tool-calls', '/v1/events', `/v1/tasks/${task}/events`, '/v1/keys', '/v1/batches']) {
      const res = await get(url(path, `cursor=${tasksCursor}`));
      expect(res.json(), path).to.include({ code: 'INVALID_CURSOR', field: 'cursor' });
      expect(res.json().detail, path).to.match(/^cursor: .+; pass back the nextCursor of a previous page unchanged$/);
    }
  });

  it('refuses exponents, hex, signs, spaces and fractions, naming the parameter and what it takes', async () => {
    for (const { path, name, range } of routes()) {
      for (const v of ['1e2', '0x10', '%2B5', '%205', '5%20', '1.5', '1.0', 'ten', 'Infinity']) {
        const res = await get(url(path, `${name}=${v}`));
        expect(res.statusCode, `${path} ${name}=${v}`).to.equal(400);
        expect(res.json(), `${path} ${name}=${v}`).to.deep.include({ code: 'VALIDATION_FAILED', field: `querystring.${name}`, detail: `querystring.${name}: an integer in decimal digits, from ${range}` });
      }
    }
  });

  it('says so when a parameter is empty or given more than once', async () => {
    for (const { path, name, range } of routes()) {
      const empty = await get(url(path, `${name}=`));
      expect(empty.statusCode, `${path} ${name}=`).to.equal(400);
      expect(empty.json()).to.deep.include({ code: 'VALIDATION_FAILED', field: `querystring.${name}`, detail: `querystring.${name}: empty; give an integer from ${range}, or leave it out` });
      const twice = await get(url(path, `${name}=1&${name}=2`));
      expect(twice.statusCode, `${path} ${name} twice`).to.equal(400);
      expect(twice.json()).to.deep.include({ code: 'VALIDATION_FAILED', field: `querystring.${name}`, detail: `querystring.${name}: given 2 times; give it once` });
    }
  });

  it('says so for any other parameter given more than once (was: "expected string, received array")', async () => {
    for (const [path, name, v] of [['/v1/tasks', 'status', 'running'], ['/v1/tool-calls', 'server', 'examples'], ['/v1/events', 'type', 'TaskSubmitted'], ['/v1/tools', 'q', 'echo'], ['/v1/keys', 'tenant', 'acme'], ['/v1/batches', 'cursor', 'abc']]) {
      const res = await get(`${path}?${name}=${v}&${name}=${v}&${name}=${v}`);
      expect(res.statusCode, `${path} ${name}`).to.equal(400);
      expect(res.json(), `${path} ${name}`).to.deep.include({ code: 'VALIDATION_FAILED', field: `querystring.${name}`, detail: `querystring.${name}: given 3 times; give it once` });
    }
    // An unknown parameter is named as unknown, however often it is given, with the ones the route takes
    // (a misspelt `?statu=` otherwise leaves the caller guessing).
    const unknown = (await get('/v1/tasks?colour=1&colour=2')).json();
    expect(unknown.field).to.equal('querystring.colour');
    expect(unknown.detail).to.match(/^querystring\.colour: unknown field; this route takes [A-Za-z]+(, [A-Za-z]+)+$/);
    expect(unknown.detail).to.include('status').and.include('limit').and.include('cursor');
    // A route that takes none says so (it said only "unknown field", as if another name would do).
    const none = await get('/v1/mcp-servers?limit=1');
    expect(none.statusCode).to.equal(400);
    expect(none.json()).to.deep.include({ code: 'VALIDATION_FAILED', field: 'querystring.limit', detail: 'querystring.limit: unknown field; this route takes no query parameters' });
  });

  it('a route that takes no query parameters refuses one, naming it, and does nothing (they were ignored: POST /v1/tasks?dryRun=true submitted a task and ran it)', async () => {
    const before = (await get('/v1/tasks?limit=200')).json().items.length;
    const dry = await h.call({ method: 'POST', url: '/v1/tasks?dryRun=true', auth, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'dry' } }] } });
    expect(dry.statusCode).to.equal(400);
    expect(dry.json()).to.deep.include({ code: 'VALIDATION_FAILED', field: 'querystring.dryRun', detail: 'querystring.dryRun: unknown field; this route takes no query parameters' });
    expect((await get('/v1/tasks?limit=200')).json().items.length).to.equal(before);
    for (const path of [`/v1/tasks/${task}?include=events`, `/v1/tasks/${task}/cancel?force=1`, '/v1/batches/0/events?limit=1']) {
      const res = await h.call({ method: path.includes('cancel') ? 'POST' : 'GET', url: path, auth });
      const name = path.split('?')[1].split('=')[0];
      expect(res.statusCode, path).to.equal(400);
      expect(res.json(), path).to.deep.include({ code: 'VALIDATION_FAILED', field: `querystring.${name}` });
    }
    // Without one they answer as before.
    expect((await get(`/v1/tasks/${task}`)).statusCode).to.equal(200);
  });

  it('every /v1 operation /docs lists without a query parameter refuses one (the check is the app\'s, not each route\'s); /healthz, /readyz, /metrics and /docs still take any', async () => {
    const doc = (await get('/docs')).json() as { paths: Record<string, Record<string, { operationId: string; parameters?: { in: string }[] }>> };
    // A body each route takes, so that what is refused is the query (fastify checks the body first).
    const bodies: Record<string, object> = {
      submitTask: { steps: [{ tool: 'examples__echo', arguments: { text: 'q' } }] },
      cancelTask: {},
      decideApproval: { proposalHash: `0x${'0'.repeat(64)}`, decision: 'approve' },
      registerMcpServer: { name: 'probe', transport: 'http', url: 'https://example.com/mcp' },
      createKey: { role: 'viewer', tenant: 'acme' },
      setKeyAgents: { agents: null },
    };
    const walked: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        if ((op.parameters ?? []).some((p) => p.in === 'query')) continue;
        const url = path.replace('{id}', path.startsWith('/v1/batches') ? '0' : task).replace('{subject}', 'acme:user:nobody');
        const res = await h.call({ method: method.toUpperCase() as 'GET', url: `${url}?zz=1`, auth, ...(op.operationId in bodies ? { payload: bodies[op.operationId] } : {}) });
        expect([res.statusCode, res.json().field], `${method} ${path}`).to.deep.equal([400, 'querystring.zz']);
        walked.push(op.operationId);
      }
    }
    expect(walked).to.include.members(Object.keys(bodies)).and.include.members(['getTask', 'getEvent', 'getEventProof', 'exportBatchEvents', 'revokeKey', 'removeMcpServer', 'eraseSubjectKey', 'getSubject', 'listMcpServers']);
    for (const url of ['/healthz', '/readyz', '/metrics', '/docs']) expect((await get(`${url}?zz=1`)).statusCode, url).to.equal(200);
  });

  it('takes decimal digits in range (leading zeros, -1 for after), and says the range otherwise', async () => {
    for (const { path, name } of routes()) {
      for (const v of ['1', '007', '50']) expect((await get(url(path, `${name}=${v}`))).statusCode, `${path} ${name}=${v}`).to.equal(200);
    }
    expect((await get('/v1/events?after=-1')).statusCode).to.equal(200);
    const zero = await get('/v1/tasks?limit=0');
    expect(zero.json()).to.deep.include({ code: 'VALIDATION_FAILED', field: 'querystring.limit' });
    expect(zero.json().detail).to.match(/^querystring\.limit: Too small: expected number to be >=1$/);
    expect((await get('/v1/tasks?limit=201')).json().detail).to.match(/^querystring\.limit: Too big: expected number to be <=200$/);
    expect((await get('/v1/events?after=-2')).json().field).to.equal('querystring.after');
    expect((await get('/v1/events?after=99999999999999999999')).json().field).to.equal('querystring.after');
  });

  it('/docs declares them as integers with their range and default', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    type Param = { name: string; in: string; schema: Record<string, unknown> };
    const param = (path: string, name: string) => (doc.paths[path].get.parameters as Param[]).find((p) => p.in === 'query' && p.name === name)!.schema;
    expect(param('/v1/tasks', 'limit')).to.deep.include({ type: 'integer', minimum: 1, maximum: 200, default: 50 });
    expect(param('/v1/events', 'limit')).to.deep.include({ type: 'integer', minimum: 1, maximum: 1000, default: 100 });
    expect(param('/v1/events', 'after')).to.deep.include({ type: 'integer', minimum: -1 });
    expect(param('/v1/tools', 'k')).to.deep.include({ type: 'integer', minimum: 1, maximum: 50, default: 10 });
  });
});
