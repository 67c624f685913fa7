import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApprovalsService } from '../../src/agent/approvals-service';
import { createAuthenticator } from '../../src/auth/authenticator';
import { ROLES, ROLE_PERMISSIONS, type Permission, type Role } from '../../src/auth/roles';
import { catalog } from '../../events';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { newId } from '../../src/core/ids';
import { encodeTaskCursor, encodeToolCallCursor } from '../../src/readmodels/cursor';
import { encodeCursor } from '../../src/api/cursor';
import { uiPlugin } from '../../src/ui';
import { recordCall } from '../support/tool-call-events';
import { makeHarness, type Harness } from './support/harness';

/**
 * Every REST route walked, as every role, from one tenant against another's ids: the permission
 * each route demands is the one docs/security.md's table names for it (and the role matrix is
 * ROLE_PERMISSIONS), no /v1 route answers without a credential, and an id of another tenant is
 * answered exactly as an id that never existed (docs/security.md, "Tenant isolation"), cursors
 * made from its rows included. New routes are walked as they come: the list is the OpenAPI
 * document's, not written here.
 */

type Route = { method: string; path: string };

/** The docs table's routes column: `GET /tasks/:id` → permission, under /v1. */
function documentedPermissions(): Map<string, Permission> {
  const md = readFileSync(join(__dirname, '..', '..', 'docs', 'security.md'), 'utf8');
  const out = new Map<string, Permission>();
  for (const line of md.split('\n')) {
    const row = /^\| `([a-z]+:[a-z]+)` \| (.*?) \|/.exec(line);
    if (!row) continue;
    for (const m of row[2].matchAll(/`(GET|POST|PATCH|DELETE) (\/[^`\s]*)`/g)) {
      const key = `${m[1]} /v1${m[2].replace(/:([a-z]+)/g, '{$1}')}`;
      expect(out.has(key), `${key} named twice in the table`).to.equal(false);
      out.set(key, row[1] as Permission);
    }
  }
  return out;
}

describe('every route, walked as each role of one tenant against another tenant', () => {
  let h: Harness;
  let routes: Route[];
  const keys = {} as Record<Role, string>;
  const theirs = {} as Record<'task' | 'call' | 'event' | 'key', string>;
  let theirTaskCreatedAt: string;
  let theirCallRequestedAt: string;

  before(async function () {
    this.timeout(30_000);
    h = await makeHarness({ subjectKeys: new MemorySubjectKeyStore() });
    h.deps.approvals = new ApprovalsService({ store: h.store, catalog });
    await h.app.register(uiPlugin, { store: h.store, readModels: h.deps.readModels, authenticate: createAuthenticator({ keys: h.keys }).authenticate });
    for (const role of ROLES) keys[role] = (await h.key(role, 'acme')).auth;
    const beta = await h.key('admin', 'beta');
    theirs.key = (await h.key('viewer', 'beta')).id;
    // Beta's task (with an event), tool call, and MCP server, as beta made them.
    const submitted = await h.call({ method: 'POST', url: '/v1/tasks', auth: beta.auth, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'beta secret' } }] } });
    expect(submitted.statusCode, submitted.body).to.equal(202);
    theirs.task = submitted.json().id;
    const call = await recordCall(h.store, { tenant: 'beta', taskId: theirs.task, arguments: { text: 'beta secret' } });
    expect(await h.deps.readModels.waitForPosition(call.position, 10_000)).to.equal(true);
    theirs.call = call.id;
    theirs.event = (await h.store.readStream(`task-${theirs.task}`))[0].id;
    const task = (await h.deps.readModels.getTask('beta', theirs.task))!;
    theirTaskCreatedAt = task.createdAt;
    theirCallRequestedAt = (await h.deps.readModels.getToolCall('beta', theirs.call))!.requestedAt!;
    await h.gateway.registerServer({ tenant: 'beta', actor: { kind: 'user', id: beta.id }, name: 'betas', transport: 'http', url: 'https://mcp.example.com/mcp' } as never);
    const doc = (await h.call({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
    routes = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/v1/'))
      .flatMap(([path, ops]) => Object.keys(ops).filter((m) => m !== 'head').map((m) => ({ method: m.toUpperCase(), path })));
  });
  after(() => h.close());

  /** A path with its parameters filled: another tenant's ids where asked, else ids nobody has. */
  const fill = (path: string, ids: Partial<Record<string, string>> = {}) =>
    path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const base = path.split('/')[2];
      if (ids[base] !== undefined) return encodeURIComponent(ids[base]!);
      if (base === 'batches') return '0';
      if (base === 'mcp-servers') return 'srv-nobody';
      if (base === 'subjects') return encodeURIComponent(`acme:user:${newId()}`);
      return newId();
    });

  it('the walk has every /v1 route the app serves: none hidden from the OpenAPI document', async () => {
    await h.app.ready();
    // fastify's own route tree, one node a line, four characters deeper per level: `│   └── /:id (GET, HEAD)`.
    const served: string[] = [];
    const stack: string[] = [];
    for (const line of h.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const node = /^([│├└─\s]*)(\/\S*)(?: \(([A-Z, ]+)\))?$/.exec(line);
      if (!node) continue;
      const depth = node[1].length / 4 - 1;
      stack.length = depth;
      stack.push(node[2]);
      const path = stack.join('');
      for (const m of node[3]?.split(', ') ?? []) if (m !== 'HEAD' && path.startsWith('/v1/')) served.push(`${m} ${path.replace(/:(\w+)/g, '{$1}')}`);
    }
    expect(served.length, 'routes found in the tree').to.be.greaterThan(20);
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).to.deep.equal(served.sort());
  });

  it('the table in docs/security.md names every /v1 route, each once, and no route it does not serve', () => {
    const documented = documentedPermissions();
    const served = new Set(routes.map((r) => `${r.method} ${r.path}`));
    expect([...served].filter((r) => !documented.has(r)), 'routes the table does not name').to.deep.equal([]);
    expect([...documented.keys()].filter((r) => !served.has(r)), 'routes the table names that are not served').to.deep.equal([]);
  });

  it('every /v1 route refuses a request without a credential (401), before its body or parameters are looked at', async () => {
    for (const r of routes) {
      const res = await h.call({ method: r.method as 'GET', url: fill(r.path), payload: r.method === 'GET' || r.method === 'DELETE' ? undefined : { junk: true } });
      expect(res.statusCode, `${r.method} ${r.path}`).to.equal(401);
    }
  });

  it('every role gets past each route exactly when ROLE_PERMISSIONS gives it the permission the table names, and 403 naming that permission otherwise', async function () {
    this.timeout(60_000);
    const documented = documentedPermissions();
    for (const r of routes) {
      const permission = documented.get(`${r.method} ${r.path}`)!;
      for (const role of ROLES) {
        // Parameters nobody has and an empty body: a role let through meets a 400/404, never a change.
        const res = await h.call({ method: r.method as 'GET', url: fill(r.path), auth: keys[role], payload: r.method === 'GET' || r.method === 'DELETE' ? undefined : {} });
        // The role check's refusal names the permission it wanted; any other answer let the role through.
        expect(res.statusCode, `${role} ${r.method} ${r.path}: a valid credential refused`).to.not.equal(401);
        const lacks = res.statusCode === 403 ? /^role \w+ lacks (\S+) \(roles with it: [\w, ]+\)$/.exec(String(res.json().detail))?.[1] : undefined;
        expect(lacks, `${role} ${r.method} ${r.path} → ${res.statusCode} ${res.body}`).to.equal(ROLE_PERMISSIONS[role].has(permission) ? undefined : permission);
        if (ROLE_PERMISSIONS[role].has(permission)) expect(res.statusCode, `${role} ${r.method} ${r.path} changed something: ${res.body}`).to.not.be.oneOf([200, 201, 202, 204].filter((s) => r.method !== 'GET' && s !== 200));
      }
    }
  });

  it("an id of another tenant, in every route that takes one, is answered as an id that never existed, to the tenant's admin", async function () {
    this.timeout(60_000);
    const byBase: Record<string, string | undefined> = { tasks: theirs.task, 'tool-calls': theirs.call, events: theirs.event, keys: theirs.key, 'mcp-servers': [...h.gateway.servers.values()].find((s) => s.tenant === 'beta')!.id };
    const bodies: Record<string, object> = {
      'POST /v1/tasks/{id}/cancel': {},
      'POST /v1/tasks/{id}/approvals': { proposalHash: `0x${'ab'.repeat(32)}`, decision: 'approve' },
      'PATCH /v1/keys/{id}': { agents: null },
    };
    let walked = 0;
    for (const r of routes.filter((x) => x.path.includes('{'))) {
      const base = r.path.split('/')[2];
      // Batches are every tenant's (their heads hold roots only); subjects name their tenant in the id (403, below).
      if (base === 'batches' || base === 'subjects') continue;
      expect(byBase[base], `no id of another tenant for ${r.method} ${r.path}: add one`).to.be.a('string');
      const ask = (url: string) => h.call({ method: r.method as 'GET', url, auth: keys.admin, payload: bodies[`${r.method} ${r.path}`] });
      const theirsRes = await ask(fill(r.path, byBase));
      const nobodys = await ask(fill(r.path));
      const what = `${r.method} ${r.path}`;
      expect(theirsRes.statusCode, `${what}: ${theirsRes.body}`).to.equal(404);
      expect({ status: theirsRes.statusCode, code: theirsRes.json().code }, what).to.deep.equal({ status: nobodys.statusCode, code: nobodys.json().code });
      expect(theirsRes.body, what).to.not.include('beta');
      walked++;
    }
    expect(walked).to.be.greaterThan(8);
    // Nothing was appended to beta's task by acme's cancel and approval.
    expect((await h.store.readStream(`task-${theirs.task}`)).map((e) => e.type)).to.deep.equal(['TaskSubmitted']);
    expect((await h.keys.get(theirs.key))?.revokedAt).to.equal(undefined);
  });

  it("another tenant's subject is 403 whether or not it exists (the id names the tenant: no oracle), to the tenant's admin", async () => {
    for (const r of routes.filter((x) => x.path.startsWith('/v1/subjects/'))) {
      for (const subject of [`beta:user:${theirs.key}`, `beta:user:${newId()}`]) {
        const res = await h.call({ method: r.method as 'GET', url: r.path.replace('{subject}', encodeURIComponent(subject)), auth: keys.admin });
        expect([res.statusCode, res.json().code], `${r.method} ${r.path}`).to.deep.equal([403, 'FORBIDDEN']);
      }
    }
  });

  it("no list shows another tenant's rows to any role of the tenant, nor pages into them from a cursor made of their keys", async () => {
    const mine = (path: string) => (path.startsWith('/v1/keys') ? ['admin'] : ROLES).filter((role) => {
      const permission = documentedPermissions().get(`GET ${path}`)!;
      return ROLE_PERMISSIONS[role as Role].has(permission);
    }) as Role[];
    const cursors: Record<string, string[]> = {
      '/v1/tasks': [encodeTaskCursor({ createdAt: theirTaskCreatedAt, id: theirs.task }), encodeTaskCursor({ createdAt: '9999-12-31T23:59:59.999Z', id: 'ffffffff-ffff-7fff-bfff-ffffffffffff' })],
      '/v1/tool-calls': [encodeToolCallCursor({ requestedAt: theirCallRequestedAt, id: theirs.call }), encodeToolCallCursor({ requestedAt: '9999-12-31T23:59:59.999Z', id: 'ffffffff-ffff-7fff-bfff-ffffffffffff' })],
      '/v1/events': [encodeCursor('events', 0)],
      '/v1/keys': [encodeCursor('keys', '00000000-0000-7000-8000-000000000000')],
    };
    const lists = routes.filter((r) => r.method === 'GET' && !r.path.includes('{') && r.path !== '/v1/batches');
    for (const r of lists) {
      for (const role of mine(r.path)) {
        const queries = r.path === '/v1/tools' ? ['?q=betas', '?q=echo'] : ['', ...(cursors[r.path] ?? []).map((c) => `?cursor=${c}`), ...(r.path === '/v1/events' ? [`?stream=task-${theirs.task}`] : [])];
        for (const q of queries) {
          const res = await h.call({ method: 'GET', url: `${r.path}${q}`, auth: keys[role] });
          expect(res.statusCode, `${role} GET ${r.path}${q}: ${res.body}`).to.equal(200);
          for (const id of Object.values(theirs)) expect(res.body, `${role} GET ${r.path}${q}`).to.not.include(id);
          expect(res.body, `${role} GET ${r.path}${q}`).to.not.include('beta');
        }
      }
    }
  });

  it('the dashboard API (/ui/api) answers no request without a credential, and tells a viewer only what its role reads', async () => {
    for (const path of ['/ui/api/config', '/ui/api/activity', '/ui/api/mcp-health', '/ui/api/contract?chainId=1&address=0x0000000000000000000000000000000000000001']) {
      expect((await h.call({ method: 'GET', url: path })).statusCode, path).to.equal(401);
    }
    const config = await h.call({ method: 'GET', url: '/ui/api/config', auth: keys.viewer });
    expect(config.json()).to.deep.include({ tenant: 'acme', role: 'viewer', permissions: [...ROLE_PERMISSIONS.viewer], crossTenant: false });
  });
});
