import { expect } from 'chai';
import fc from 'fast-check';
import { makeHarness, type Harness } from './support/harness';

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
const ROUTES: Array<[Method, string]> = [
  ['POST', '/v1/tasks'],
  ['GET', '/v1/tasks'],
  ['GET', '/v1/tasks/:id'],
  ['GET', '/v1/tasks/:id/events'],
  ['POST', '/v1/tasks/:id/cancel'],
  ['POST', '/v1/tasks/:id/approvals'],
  ['GET', '/v1/events'],
  ['GET', '/v1/events/:id'],
  ['GET', '/v1/events/:id/proof'],
  ['GET', '/v1/batches'],
  ['GET', '/v1/batches/:id'],
  ['GET', '/v1/batches/:id/events'],
  ['POST', '/v1/mcp-servers'],
  ['GET', '/v1/mcp-servers'],
  ['DELETE', '/v1/mcp-servers/:id'],
  ['GET', '/v1/tools'],
  ['POST', '/v1/keys'],
  ['GET', '/v1/keys'],
  ['PATCH', '/v1/keys/:id'],
  ['DELETE', '/v1/keys/:id'],
  ['GET', '/healthz'],
  ['GET', '/readyz'],
  ['GET', '/docs'],
];

const HOSTILE_STRINGS = [
  '../../etc/passwd', '..%2F..%2Fetc%2Fpasswd', '%2e%2e%2f', "' OR 1=1 --", '"; DROP TABLE events; --', '1; SELECT * FROM api_keys',
  '%00', '\u0000', '${jndi:ldap://x}', '<script>alert(1)</script>', '0x' + 'f'.repeat(64), '-1', '1e309', 'NaN', '[]', '{}',
  'x'.repeat(5000), '😀'.repeat(50), '%ZZ', '%', 'null', 'true', '01900000-0000-7000-8000-00000000000g', ' ', '',
];

const hostileString = fc.oneof(fc.constantFrom(...HOSTILE_STRINGS), fc.string({ maxLength: 60 }), fc.string({ unit: 'grapheme', maxLength: 30 }));

const hostileBody = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.record({ instruction: fc.oneof(fc.integer(), fc.constant(''), fc.constant('x'.repeat(30_000)), fc.boolean()) }),
  fc.record({ steps: fc.oneof(fc.string(), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }), fc.constant([]), fc.constant(new Array(101).fill({ tool: 'a__b' }))) }),
  fc.record({ steps: fc.constant([{ tool: 'a__b', arguments: { f: 1.5 } }]) }),
  fc.record({ role: hostileString, tenant: hostileString }),
  fc.record({ role: fc.constant('admin'), tenant: fc.constant('acme'), crossTenant: fc.oneof(fc.string(), fc.integer()) }),
  fc.record({ name: hostileString, transport: fc.constantFrom('stdio', 'http', 'sse', 'ftp'), url: hostileString, command: hostileString }),
  fc.record({ proposalHash: hostileString, decision: hostileString }),
  fc.record({ agents: fc.oneof(hostileString, fc.array(hostileString, { maxLength: 3 }), fc.constant(null), fc.constant(['*'])) }),
  fc.constant({ __proto__: { admin: true }, constructor: { prototype: { x: 1 } } }),
  fc.constant(JSON.parse('{"__proto__":{"polluted":true},"instruction":1}')),
);

const rawBody = fc.oneof(
  fc.constantFrom('{', '{"a":', '[1,2', 'nul', '"unterminated', '{"a":1}garbage', '\u0000\u0001', '[' .repeat(5000) + ']'.repeat(5000)),
  fc.string({ maxLength: 200 }),
);

const queryString = fc
  .array(fc.tuple(fc.constantFrom('status', 'agentId', 'from', 'to', 'limit', 'cursor', 'stream', 'type', 'after', 'q', 'k', 'tenant', 'x', '__proto__'), hostileString), { maxLength: 4 })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&'));

describe('Fuzz: hostile requests to every route', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async () => {
    h = await makeHarness();
  });
  after(() => h.close());

  it('1,200 malformed or hostile requests: never a 5xx, always problem+json on errors, log unchanged by rejections', async () => {
    const auths = [
      (await h.key('admin', 'acme', true)).auth,
      (await h.key('operator', 'acme')).auth,
      (await h.key('viewer', 'beta')).auth,
      undefined,
      'Bearer ' + 'x'.repeat(9000),
      'Bearer a.b.c',
      'Basic YWRtaW46YWRtaW4=',
      'Bearer omk_' + 'A'.repeat(43),
    ];
    const ids = ['01900000-0000-7000-8000-000000000000', ...HOSTILE_STRINGS];
    const request = fc.record({
      route: fc.constantFrom(...ROUTES),
      id: fc.oneof(fc.constantFrom(...ids), hostileString),
      query: queryString,
      body: fc.oneof(hostileBody.map((b) => ({ json: b })), rawBody.map((r) => ({ raw: r }))),
      contentType: fc.constantFrom('application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', ''),
      // Mostly valid keys, so most requests get past authentication to parsing and validation.
      auth: fc.oneof({ arbitrary: fc.constant(auths[0]), weight: 8 }, { arbitrary: fc.constantFrom(auths[1], auths[2]), weight: 3 }, { arbitrary: fc.constantFrom(...auths.slice(3)), weight: 2 }),
      requestId: fc.option(hostileString),
    });
    const samples = fc.sample(request, { numRuns: 1200, seed: 20261122 });
    let head = await h.store.headPosition();
    let accepted = 0;
    const codes = new Map<number, number>();
    const seenRoutes = new Set<string>();
    for (const s of samples) {
      const [method, template] = s.route;
      const url = template.replace(':id', encodeURIComponent(s.id).replace(/%2F/g, (m) => (s.id.length % 2 ? '/' : m))) + (s.query ? `?${s.query}` : '');
      const headers: Record<string, string> = {};
      if (s.auth) headers.authorization = s.auth;
      if (s.requestId !== null) headers['x-request-id'] = s.requestId.replace(/[^\x20-\x7e]/g, '');
      let payload: string | undefined;
      if (method === 'POST' || method === 'PATCH' || (method === 'DELETE' && s.id.length % 3 === 0)) {
        payload = 'json' in s.body ? JSON.stringify(s.body.json) ?? 'null' : s.body.raw;
        if (s.contentType) headers['content-type'] = s.contentType;
      }
      const res = await h.app.inject({ method, url, headers, payload });
      codes.set(res.statusCode, (codes.get(res.statusCode) ?? 0) + 1);
      seenRoutes.add(`${method} ${template}`);
      const ctx = `${method} ${url.slice(0, 120)} -> ${res.statusCode} ${res.body.slice(0, 200)}`;
      expect(res.statusCode, ctx).to.be.below(500);
      const now = await h.store.headPosition();
      if (res.statusCode >= 400) {
        expect(res.headers['content-type'], ctx).to.match(/^application\/problem\+json/);
        const p = JSON.parse(res.body);
        expect(p.code, ctx).to.match(/^[A-Z][A-Z_]+$/);
        expect(p.status, ctx).to.equal(res.statusCode);
        expect(now, `a rejected request appended: ${ctx}`).to.equal(head);
      } else if (now !== head) {
        accepted++;
      }
      head = now;
    }
    expect(seenRoutes.size).to.equal(ROUTES.length);
    // Almost everything is rejected; the few accepted are valid-by-chance bodies.
    expect(accepted).to.be.below(50);
    // Most requests got past authentication and were refused for their content.
    expect((codes.get(400) ?? 0) + (codes.get(413) ?? 0) + (codes.get(415) ?? 0)).to.be.above(400);
  });
});
