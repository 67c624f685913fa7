import { expect } from 'chai';
import { Gauge, Registry } from 'prom-client';
import { makeHarness, type Harness } from './support/harness';
import { roomInRateWindow } from '../support/rate-window';
import { createMetrics } from '../../src/metrics/metrics';
import { METRIC_READ_FAILURES_METRIC, scrapeReader } from '../../src/metrics/scrape-reader';
import { instrumentEventStore } from '../../src/metrics/instrument-store';
import { createEvent } from '../../src/core/envelope';
import { READINESS_CHECK_TIMEOUT_MS } from '../../src/telemetry/readiness-check';
import { createLogger } from '../../src/api/logger';

describe('REST system routes: /healthz, /readyz, /metrics, /docs; request ids; rate limits', () => {
  let h: Harness;
  let registry: Registry;

  before(async () => {
    registry = new Registry();
    // Another context's gauge on the same registry shows up in /metrics too.
    new Gauge({ name: 'openmcp_projection_lag_events', help: 'test', registers: [registry] }).set(3);
    h = await makeHarness({ metrics: undefined, registry });
  });
  after(() => h.close());

  it('/healthz is liveness only, public', async () => {
    const res = await h.call({ method: 'GET', url: '/healthz' });
    expect(res.statusCode).to.equal(200);
    expect(res.json()).to.deep.equal({ status: 'ok' });
  });

  it("leaves probes and scrapes (/healthz, /readyz, /metrics) out of the request log at LOG_LEVEL=info: a container's healthcheck every 10 s and Prometheus's scrape every 15 s wrote two lines each, hours of noise a day per process; other requests are logged as before, and at debug the probes too", async () => {
    const requestLines = async (level: string) => {
      const lines: string[] = [];
      const hl = await makeHarness({ logger: createLogger(level, { write: (l: string) => void lines.push(l) }) });
      try {
        for (const url of ['/healthz', '/readyz', '/metrics', '/v1/tasks']) await hl.call({ method: 'GET', url });
      } finally {
        await hl.close();
      }
      return lines.map((l) => JSON.parse(l) as { msg: string; req?: { url: string } }).filter((l) => l.msg === 'incoming request').map((l) => l.req!.url);
    };
    expect(await requestLines('info')).to.deep.equal(['/v1/tasks']);
    expect(await requestLines('debug')).to.deep.equal(['/healthz', '/readyz', '/metrics', '/v1/tasks']);
    expect(await requestLines('warn')).to.deep.equal([]);
  });

  it("still logs, at LOG_LEVEL=info, a /readyz that answers 503 (a warn line naming what is down): with the probes' request lines gone, a process its orchestrator took out of service for a dependency said nothing in its log", async () => {
    const lines: string[] = [];
    const hl = await makeHarness({
      logger: createLogger('info', { write: (l: string) => void lines.push(l) }),
      readiness: [
        { name: 'mysql', check: async () => ({ state: 'down' as const, detail: 'connect ECONNREFUSED 127.0.0.1:3306' }) },
        { name: 'redis', check: async () => ({ state: 'up' as const }) },
      ],
    });
    try {
      expect((await hl.call({ method: 'GET', url: '/readyz' })).statusCode).to.equal(503);
    } finally {
      await hl.close();
    }
    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; dependencies?: unknown });
    const warned = logged.filter((l) => l.level === 40);
    expect(warned.map((l) => l.msg)).to.deep.equal(['not ready (/readyz 503): mysql down: connect ECONNREFUSED 127.0.0.1:3306']);
    expect(warned[0].dependencies).to.deep.equal([{ name: 'mysql', state: 'down', detail: 'connect ECONNREFUSED 127.0.0.1:3306' }]);
  });

  it('/readyz names each dependency with its state: 200 when up or degraded, 503 when one is down', async () => {
    const mk = (states: Array<'up' | 'down' | 'degraded' | 'throw'>) =>
      makeHarness({
        readiness: states.map((s, i) => ({
          name: `dep${i}`,
          check: async () => {
            if (s === 'throw') throw new Error('connection refused');
            return { state: s, ...(s === 'degraded' ? { detail: 'lexical search only' } : {}) };
          },
        })),
      });
    const a = await mk(['up', 'degraded']);
    const b = await mk(['up', 'throw']);
    try {
      const ra = await a.call({ method: 'GET', url: '/readyz' });
      expect(ra.statusCode).to.equal(200);
      expect(ra.json()).to.deep.equal({
        status: 'degraded',
        dependencies: [{ name: 'dep0', state: 'up' }, { name: 'dep1', state: 'degraded', detail: 'lexical search only' }],
      });
      const rb = await b.call({ method: 'GET', url: '/readyz' });
      expect(rb.statusCode).to.equal(503);
      expect(rb.json().dependencies[1]).to.deep.equal({ name: 'dep1', state: 'down', detail: 'connection refused' });
      // Its 503 is the readiness report, not a problem: /docs lists it under the media type it is sent with.
      expect(rb.headers['content-type']).to.match(/^application\/json/);
      const doc = (await b.call({ method: 'GET', url: '/docs' })).json();
      expect(Object.keys(doc.paths['/readyz'].get.responses['503'].content)).to.deep.equal(['application/json']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('/readyz reports a check that gives no answer (a frozen database) down after READINESS_CHECK_TIMEOUT_MS, as the gauge does', async function () {
    this.timeout(10_000);
    const hung = await makeHarness({ readiness: [{ name: 'database (mysql)', check: () => new Promise(() => {}) }, { name: 'cache', check: async () => ({ state: 'up' }) }] });
    try {
      const res = await hung.call({ method: 'GET', url: '/readyz' });
      expect(res.statusCode).to.equal(503);
      expect(res.json().dependencies).to.deep.equal([
        { name: 'database (mysql)', state: 'down', detail: `no answer in ${READINESS_CHECK_TIMEOUT_MS} ms` },
        { name: 'cache', state: 'up' },
      ]);
    } finally {
      await hung.close();
    }
  });

  it('/metrics exposes HTTP latency by route and status, append latency, errors by code, and other contexts\' gauges', async () => {
    const admin = (await h.key('admin', 'acme')).auth;
    const metrics = createMetrics({ registry });
    const store = instrumentEventStore(h.store, metrics);
    await h.call({ method: 'GET', url: '/v1/tasks/not-an-id', auth: admin });
    await h.call({ method: 'GET', url: '/v1/tasks', auth: admin });
    await store.append('task-m1', [createEvent({ type: 'TaskCancelled', stream: 'task-m1', tenant: 'acme', actor: { kind: 'user', id: 'u' }, data: {} })]);
    const res = await h.call({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).to.equal(200);
    expect(res.headers['content-type']).to.match(/^text\/plain/);
    expect(res.body).to.match(/openmcp_http_request_duration_seconds_count\{method="GET",route="\/v1\/tasks\/:id",status="400"\} 1/);
    expect(res.body).to.match(/openmcp_http_request_duration_seconds_count\{method="GET",route="\/v1\/tasks",status="200"\} 1/);
    expect(res.body).to.match(/openmcp_errors_total\{code="VALIDATION_FAILED"\} 1/);
    expect(res.body).to.match(/openmcp_eventstore_append_duration_seconds_count\{store="sql:sqlite"\} 1/);
    expect(res.body).to.include('openmcp_projection_lag_events 3');
  });

  // Both are refused before schema validation, by a hook that answered itself: they reached no
  // error handler, so openmcp_errors_total said nothing of them (the REST API's answers are counted).
  it('counts the 400s for a body nested too deep and for a lone UTF-16 surrogate in openmcp_errors_total, as every other VALIDATION_FAILED', async () => {
    const admin = (await h.key('admin', 'acme')).auth;
    const count = async () => Number(/^openmcp_errors_total\{code="VALIDATION_FAILED"\} (\d+)$/m.exec((await h.call({ method: 'GET', url: '/metrics' })).body)?.[1] ?? 0);
    const before = await count();
    let deep: unknown = 'x';
    for (let i = 0; i < 80; i++) deep = { a: deep };
    const nested = await h.call({ method: 'POST', url: '/v1/tasks', auth: admin, payload: { steps: [{ tool: 'x__y', arguments: deep }] } });
    expect(nested.json()).to.include({ status: 400, code: 'VALIDATION_FAILED', field: 'body' });
    const lone = await h.call({ method: 'POST', url: '/v1/tasks', auth: admin, payload: { instruction: 'broken \ud800' } });
    expect(lone.json()).to.include({ status: 400, code: 'VALIDATION_FAILED', field: 'body.instruction' });
    expect(await count()).to.equal(before + 2);
  });

  it("/metrics gives a gauge's read half the scraper's own timeout (X-Prometheus-Scrape-Timeout-Seconds), else 5 s (was 5 s whatever the scrape_timeout: a shorter one lost the whole scrape)", async () => {
    const own = new Registry();
    // A read slower than half of the 0.2 s scrape below, well within 5 s.
    const read = scrapeReader(own, ['openmcp_slow_lag_events'], () => new Promise<number>((r) => setTimeout(() => r(9), 300)));
    new Gauge({ name: 'openmcp_slow_lag_events', help: 'test', registers: [own], async collect() { this.set((await read()) ?? NaN); } });
    const scraped = await makeHarness({ metrics: undefined, registry: own });
    try {
      const short = await scraped.call({ method: 'GET', url: '/metrics', headers: { 'x-prometheus-scrape-timeout-seconds': '0.2' } });
      expect(short.body).to.match(/^openmcp_slow_lag_events Nan$/m);
      expect(short.body).to.contain(`${METRIC_READ_FAILURES_METRIC}{metric="openmcp_slow_lag_events"} 1`);
      await new Promise((r) => setTimeout(r, 300)); // the given-up read ends: the next scrape reads afresh
      const plain = await scraped.call({ method: 'GET', url: '/metrics' });
      expect(plain.body).to.match(/^openmcp_slow_lag_events 9$/m);
    } finally {
      await scraped.close();
    }
  });

  it('/docs and /docs/json serve the OpenAPI document with every route', async () => {
    const res = await h.call({ method: 'GET', url: '/docs' });
    expect(res.statusCode).to.equal(200);
    const doc = res.json();
    expect(doc.openapi).to.match(/^3\./);
    const paths = Object.keys(doc.paths);
    for (const p of [
      '/v1/tasks', '/v1/tasks/{id}', '/v1/tasks/{id}/events', '/v1/tasks/{id}/cancel', '/v1/tasks/{id}/approvals',
      '/v1/tool-calls', '/v1/tool-calls/{id}',
      '/v1/events', '/v1/events/{id}', '/v1/events/{id}/proof', '/v1/batches', '/v1/batches/{id}', '/v1/batches/{id}/events',
      '/v1/mcp-servers', '/v1/mcp-servers/{id}', '/v1/tools', '/v1/keys', '/v1/keys/{id}', '/healthz', '/readyz',
    ]) expect(paths, p).to.include(p);
    expect(doc.paths['/v1/tasks'].post.requestBody.content['application/json'].schema.properties).to.have.property('steps');
    expect(doc.paths['/v1/tool-calls'].get.parameters.map((p: { name: string }) => p.name)).to.include.members(['server', 'tool', 'status', 'taskId', 'from', 'to', 'limit', 'cursor']);
    expect(doc.paths['/v1/tool-calls/{id}'].get.responses['200'].content['application/json'].schema.properties).to.include.keys('argumentsHash', 'arguments', 'resultHash', 'result');
    // A step's arguments are kept whole (JsonObject, not z.record): still declared an object.
    const step = doc.paths['/v1/tasks/{id}'].get.responses['200'].content['application/json'].schema.properties.steps.items;
    expect(step.properties.arguments).to.include({ type: 'object' });
    expect((await h.call({ method: 'GET', url: '/docs/json' })).json().openapi).to.equal(doc.openapi);
  });

  it('/docs declares every time of an answer (createdAt, occurredAt, requestedAt…) as format date-time, which client generators type as a date (they were plain strings)', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const times: string[] = [];
    const walk = (schema: unknown, at: string): void => {
      if (!schema || typeof schema !== 'object') return;
      const s = schema as { properties?: Record<string, { format?: string }>; items?: unknown; anyOf?: unknown[]; oneOf?: unknown[]; allOf?: unknown[] };
      for (const [name, sub] of Object.entries(s.properties ?? {})) {
        if (/At$/.test(name)) times.push(`${at}.${name}: ${sub.format ?? '(none)'}`);
        walk(sub, `${at}.${name}`);
      }
      for (const sub of [s.items, ...(s.anyOf ?? []), ...(s.oneOf ?? []), ...(s.allOf ?? [])]) walk(sub, at);
    };
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, r] of Object.entries(op.responses)) if (Number(status) < 300) walk(r.content?.['application/json']?.schema, `${method} ${path} ${status}`);
      }
    }
    expect(times.length).to.be.greaterThan(10);
    expect(times.filter((t) => !t.endsWith(': date-time'))).to.deep.equal([]);
  });

  it("/docs says what a list's paging parameters mean, on every list that takes them: cursor (a page's nextCursor, passed back) and after (exclusive: what comes after that position); they had no description, and a client could not tell that after=5 leaves out event 5", async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const undescribed: string[] = [];
    let cursors = 0;
    let afters = 0;
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { parameters?: { name: string; in: string; description?: string }[] }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const p of op.parameters ?? []) {
          if (p.in !== 'query' || (p.name !== 'cursor' && p.name !== 'after')) continue;
          if (p.name === 'cursor') cursors++;
          else afters++;
          const expected = p.name === 'cursor' ? /nextCursor/ : /^Exclusive/;
          if (!expected.test(p.description ?? '')) undescribed.push(`${method} ${path} ${p.name}: ${p.description ?? '(none)'}`);
        }
      }
    }
    expect(cursors).to.be.greaterThan(5);
    expect(afters).to.equal(3);
    expect(undescribed).to.deep.equal([]);
  });

  it('/docs names every REST operation with a stable, unique operationId (what client generators name their methods after), the SDK\'s names', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const ids: Record<string, string> = {};
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { operationId?: string }>>)) {
      if (path === '/mcp') continue; // MCP over streamable HTTP: JSON-RPC, not REST (docs/architecture.md)
      for (const [method, op] of Object.entries(ops)) ids[`${method.toUpperCase()} ${path}`] = op.operationId ?? '(none)';
    }
    expect(ids).to.deep.equal({
      'GET /healthz': 'getHealth',
      'GET /readyz': 'getReadiness',
      'POST /v1/tasks': 'submitTask',
      'GET /v1/tasks': 'listTasks',
      'GET /v1/tasks/{id}': 'getTask',
      'GET /v1/tasks/{id}/events': 'listTaskEvents',
      'POST /v1/tasks/{id}/cancel': 'cancelTask',
      'POST /v1/tasks/{id}/approvals': 'decideApproval',
      'GET /v1/tool-calls': 'listToolCalls',
      'GET /v1/tool-calls/{id}': 'getToolCall',
      'GET /v1/events': 'listEvents',
      'GET /v1/events/{id}': 'getEvent',
      'GET /v1/events/{id}/proof': 'getEventProof',
      'GET /v1/batches': 'listBatches',
      'GET /v1/batches/{id}': 'getBatch',
      'GET /v1/batches/{id}/events': 'exportBatchEvents',
      'POST /v1/mcp-servers': 'registerMcpServer',
      'GET /v1/mcp-servers': 'listMcpServers',
      'DELETE /v1/mcp-servers/{id}': 'removeMcpServer',
      'GET /v1/tools': 'searchTools',
      'POST /v1/keys': 'createKey',
      'GET /v1/keys': 'listKeys',
      'PATCH /v1/keys/{id}': 'setKeyAgents',
      'DELETE /v1/keys/{id}': 'revokeKey',
      'DELETE /v1/subjects/{subject}/key': 'eraseSubjectKey',
      'GET /v1/subjects/{subject}': 'getSubject',
      'GET /v1/subjects/{subject}/events': 'listSubjectEvents',
    });
  });

  it('/docs describes error answers as application/problem+json, as they are sent, and the public routes without a key', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const problems: string[] = [];
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        for (const [status, r] of Object.entries(op.responses)) {
          if (Number(status) >= 400 && r.content) problems.push(`${method} ${path} ${status}: ${Object.keys(r.content).join(',')}`);
        }
      }
    }
    expect(problems).to.not.be.empty;
    // Every one but /readyz's 503, which is its readiness report (application/json, as sent).
    expect(problems.filter((p) => !p.endsWith(': application/problem+json'))).to.deep.equal(['get /readyz 503: application/json']);
    const sent = await h.call({ method: 'GET', url: '/v1/tasks?limit=0', headers: { authorization: (await h.key('viewer', 'acme')).auth } });
    expect(sent.headers['content-type']).to.match(/^application\/problem\+json/);
    // Every route that takes a body answers 413 and 415 too (fastify's own checks, before the route).
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>>)) {
      for (const [method, op] of Object.entries(ops)) {
        if (op.requestBody && path.startsWith('/v1/')) expect(Object.keys(op.responses), `${method} ${path}`).to.include.members(['413', '415']);
      }
    }
    // Every /v1 route answers 503 DEPENDENCY_UNAVAILABLE while the key store or database is away
    // (docs/errors.md), reads included; and no read answers 409 but a proof's PROOF_PENDING.
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses), `${method} ${path}`).to.include('503');
        if (method === 'get' && path !== '/v1/events/{id}/proof') expect(Object.keys(op.responses), `${method} ${path}`).not.to.include('409');
      }
    }
    // Every /v1 route may answer 500 INTERNAL (a problem, its code kept, docs/errors.md); a 204
    // documents no content (a generated client would parse an empty body as JSON and fail); the
    // erasure of a subject's key answers 501 where this deployment has no subject keys.
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        expect(Object.keys(op.responses['500']?.content ?? {}), `${method} ${path} 500`).to.deep.equal(['application/problem+json']);
        if (op.responses['204']) expect(op.responses['204'], `${method} ${path} 204`).not.to.have.property('content');
      }
    }
    expect(doc.paths['/v1/subjects/{subject}/key'].delete.responses).to.have.property('501');
    expect(doc.paths['/v1/subjects/{subject}'].get.responses).to.have.property('501');
    expect(doc.paths['/v1/subjects/{subject}/events'].get.responses).to.have.property('501');
    // An id over 500 characters is refused by the router (414 MALFORMED_REQUEST): listed where a path takes one.
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>)) {
      for (const [method, op] of Object.entries(ops)) expect(Object.keys(op.responses).includes('414'), `${method} ${path} 414`).to.equal(path.includes('{'));
    }
    const long = await h.call({ method: 'GET', url: `/v1/tasks/${'a'.repeat(600)}` });
    expect(long.statusCode).to.equal(414);
    expect(long.json()).to.include({ code: 'MALFORMED_REQUEST', detail: 'a path segment over 500 characters (no id is that long)' });
    // A cancel takes its body ({reason}) or none: a client generated from /docs must not be made to send one.
    expect(doc.paths['/v1/tasks/{id}/cancel'].post.requestBody.required).to.not.equal(true);
    expect(doc.paths['/v1/tasks'].post.requestBody.required).to.equal(true);
    expect(doc.paths['/healthz'].get.security).to.deep.equal([]);
    expect(doc.paths['/readyz'].get.security).to.deep.equal([]);
    expect(doc.paths['/v1/tasks'].get.security).to.equal(undefined); // the document's own: bearer
  });

  it('/docs declares the headers answers carry: x-request-id on every one, Location and Idempotent-Replayed on a submit, Retry-After on 429, 503 and PROOF_PENDING, Cache-Control on every one (a new key included)', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    type Responses = Record<string, { headers?: Record<string, unknown> }>;
    const headersOf = (path: string, method: string, status: string) => Object.keys(((doc.paths[path][method].responses as Responses)[status]?.headers) ?? {});
    for (const [path, ops] of Object.entries(doc.paths as Record<string, Record<string, { responses: Responses }>>)) {
      if (!path.startsWith('/v1/')) continue;
      for (const [method, op] of Object.entries(ops)) {
        for (const status of Object.keys(op.responses)) {
          expect(headersOf(path, method, status), `${method} ${path} ${status}`).to.include('x-request-id');
          if (status === '429' || status === '503') expect(headersOf(path, method, status), `${method} ${path} ${status}`).to.include('retry-after');
        }
      }
    }
    expect(headersOf('/v1/tasks', 'post', '202')).to.include.members(['location', 'idempotent-replayed']);
    expect(headersOf('/v1/tasks/{id}/cancel', 'post', '202')).to.include('idempotent-replayed');
    expect(headersOf('/v1/events/{id}/proof', 'get', '409')).to.include('retry-after');
    expect(headersOf('/v1/keys', 'post', '201')).to.include('cache-control');
    // As sent:
    const auth = (await h.key('operator', 'acme')).auth;
    const payload = { steps: [{ tool: 'examples__echo', arguments: { text: 'headers' } }] };
    const first = await h.call({ method: 'POST', url: '/v1/tasks', auth, payload, headers: { 'idempotency-key': 'docs-headers' } });
    const again = await h.call({ method: 'POST', url: '/v1/tasks', auth, payload, headers: { 'idempotency-key': 'docs-headers' } });
    expect(first.headers.location).to.equal(`/v1/tasks/${first.json().id}`);
    expect(again.headers['idempotent-replayed']).to.equal('true');
    expect(first.headers['x-request-id']).to.be.a('string');
  });

  it('echoes a valid x-request-id, replaces a hostile one', async () => {
    const ok = await h.call({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers['x-request-id']).to.equal('abc-123');
    const bad = await h.call({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'a b\u0000<script>' } });
    expect(bad.headers['x-request-id']).to.match(/^[0-9a-f-]{36}$/);
  });

  it('unknown routes are 404 ROUTE_NOT_FOUND problems', async () => {
    const res = await h.call({ method: 'GET', url: '/v1/nope' });
    expect(res.statusCode).to.equal(404);
    expect(res.headers['content-type']).to.match(/problem\+json/);
    expect(res.json().code).to.equal('ROUTE_NOT_FOUND');
    expect(res.headers['x-request-id']).to.equal(res.json().requestId);
    const denied = await h.call({ method: 'GET', url: '/v1/tasks', headers: { 'x-request-id': 'no-key-1' } });
    expect(denied.statusCode).to.equal(401);
    expect(denied.headers['x-request-id']).to.equal('no-key-1');
    expect(denied.json().requestId).to.equal('no-key-1');
  });

  it('RateLimit-Limit, -Remaining and -Reset on every answer to a key: the tighter of its key\'s and its tenant\'s windows (a client paces itself instead of meeting a 429); none before the key is known', async () => {
    // The windows are the clock's minutes: the requests below, within one (see test/support/rate-window.ts).
    await roomInRateWindow(10_000);
    const h2 = await makeHarness({ rateLimit: { perKeyPerMinute: 3, perTenantPerMinute: 4 } });
    try {
      const a = (await h2.key('viewer', 'acme')).auth;
      const b = (await h2.key('viewer', 'acme')).auth;
      const limits = async (auth: string, url = '/v1/tasks') => {
        const res = await h2.call({ method: 'GET', url, auth });
        const reset = Number(res.headers['ratelimit-reset']);
        expect(reset, url).to.be.within(1, 60);
        return { status: res.statusCode, limit: res.headers['ratelimit-limit'], remaining: res.headers['ratelimit-remaining'], retryAfter: res.headers['retry-after'], reset };
      };
      expect(await limits(a)).to.include({ status: 200, limit: '3', remaining: '2' });
      expect(await limits(a, '/v1/tasks?limit=0')).to.include({ status: 400, limit: '3', remaining: '1' }); // refusals after the key count too
      expect(await limits(b)).to.include({ status: 200, limit: '4', remaining: '1' }); // the tenant's window is the tighter
      expect(await limits(a)).to.include({ status: 200, limit: '3', remaining: '0' });
      const limited = await limits(a);
      expect(limited).to.include({ status: 429, limit: '3', remaining: '0' });
      expect(String(limited.reset)).to.equal(limited.retryAfter);
      const unknown = await h2.call({ method: 'GET', url: '/v1/tasks', auth: 'Bearer omk_nope' });
      expect(unknown.statusCode).to.equal(401);
      expect(unknown.headers).not.to.have.any.keys('ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset');
      const doc = (await h2.call({ method: 'GET', url: '/docs' })).json();
      expect(doc.paths['/v1/tasks'].get.responses['200'].headers).to.include.keys('ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset');
      expect(doc.paths['/v1/tasks'].get.responses['401'].headers).not.to.have.any.keys('ratelimit-limit');
    } finally {
      await h2.close();
    }
  });

  it('429 RATE_LIMITED with Retry-After per key, and per tenant across keys', async () => {
    await roomInRateWindow(10_000);
    const h2 = await makeHarness({ rateLimit: { perKeyPerMinute: 3, perTenantPerMinute: 5 } });
    try {
      const a = (await h2.key('viewer', 'acme')).auth;
      const b = (await h2.key('viewer', 'acme')).auth;
      const other = (await h2.key('viewer', 'beta')).auth;
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push((await h2.call({ method: 'GET', url: '/v1/tasks', auth: a })).statusCode);
      expect(codes).to.deep.equal([200, 200, 200, 429]);
      const limited = await h2.call({ method: 'GET', url: '/v1/tasks', auth: a });
      expect(limited.json()).to.include({ code: 'RATE_LIMITED' });
      const retry = Number(limited.headers['retry-after']);
      expect(retry).to.be.within(1, 60);
      // acme has used 5 of its 5; b's own budget is untouched but the tenant's is spent.
      const viaB = await h2.call({ method: 'GET', url: '/v1/tasks', auth: b });
      expect(viaB.statusCode).to.equal(429);
      expect(viaB.json().detail).to.match(/tenant/);
      expect((await h2.call({ method: 'GET', url: '/v1/tasks', auth: other })).statusCode).to.equal(200);
    } finally {
      await h2.close();
    }
  });
});
