import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { installErrorHandler } from '../../src/api/error-handler';
import { UnauthenticatedError } from '../../src/api/errors';
import type { Principal } from '../../src/auth/principal';
import { createRateLimiter } from '../../src/auth/rate-limit';
import { MemoryCache } from '../../src/cache/memory';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import type { ReadModels } from '../../src/readmodels/port';
import { uiPlugin } from '../../src/ui';
import { roomInRateWindow } from '../support/rate-window';

const principals: Record<string, Principal> = {
  'key-acme-operator-000000000000': { tenant: 'acme', role: 'operator', actor: { kind: 'user', id: 'op' }, crossTenant: false, via: 'api-key', subject: 'k1' },
  'key-root-admin-00000000000000': { tenant: 'default', role: 'admin', actor: { kind: 'user', id: 'root' }, crossTenant: true, via: 'api-key', subject: 'k2' },
  'key-acme-revoked-later-000000': { tenant: 'acme', role: 'operator', actor: { kind: 'user', id: 'op2' }, crossTenant: false, via: 'api-key', subject: 'k3' },
  'key-acme-viewer-0000000000000': { tenant: 'acme', role: 'viewer', actor: { kind: 'user', id: 'vi' }, crossTenant: false, via: 'api-key', subject: 'k4' },
  'key-acme-agent-00000000000000': { tenant: 'acme', role: 'agent', actor: { kind: 'agent', id: 'ag' }, crossTenant: false, via: 'api-key', subject: 'k5' },
  'key-acme-auditor-000000000000': { tenant: 'acme', role: 'auditor', actor: { kind: 'user', id: 'au' }, crossTenant: false, via: 'api-key', subject: 'k6' },
  'key-globex-operator-0000000000': { tenant: 'globex', role: 'operator', actor: { kind: 'user', id: 'gop' }, crossTenant: false, via: 'api-key', subject: 'k7' },
};
const authenticate = async (h: string | undefined) => {
  const p = principals[(h ?? '').replace(/^Bearer /, '')];
  if (!p) throw new UnauthenticatedError();
  return p;
};
const auth = (key: string) => ({ authorization: `Bearer ${key}` });
const ACME = 'key-acme-operator-000000000000';
const ROOT = 'key-root-admin-00000000000000';
const GLOBEX = 'key-globex-operator-0000000000';
const TOKEN = '0x8464135c8f25da09e49bc8782676a84730c318bc';

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

/** Read server-sent events from the live stream until `until` holds or `ms` pass. */
async function readStream(url: string, key: string, until: (events: { event: string; data: any }[]) => boolean, ms = 5000) {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  const out: { event: string; data: any }[] = [];
  let status = 0;
  try {
    const res = await fetch(url, { headers: auth(key), signal: ac.signal });
    status = res.status;
    if (!res.ok || !res.body) return { status, out };
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    while (!until(out)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const frame = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event && data) out.push({ event, data: JSON.parse(data) });
      }
    }
    ac.abort();
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
  }
  return { status, out };
}

describe('uiPlugin: /ui assets, authenticated JSON and the live stream', function () {
  this.timeout(30_000);
  let dir: string;
  let store: SqlEventStore;
  let app: FastifyInstance;
  let base: string;
  const waited: number[] = [];
  /** What the gap repair would tell the plugin (main.ts: GapRepair's onShown). */
  const shownLate = new Set<(events: RecordedEvent[]) => void>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-ui-plugin-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
    // The read side's only duty here: say when an event is visible (it always is, at once).
    const readModels = { waitForPosition: async (p: number) => (waited.push(p), true) } as unknown as ReadModels;
    app = Fastify();
    installErrorHandler(app);
    await app.register(uiPlugin, { store, readModels, authenticate, chainRpcUrl: 'http://127.0.0.1:8545', heartbeatMs: 200, describeContract: async (q) => (q.address === TOKEN ? { chainId: q.chainId, address: q.address, name: 'DemoToken', token: { symbol: 'DEMO', decimals: 18 } } : undefined), upstreams: () => [{ id: 's1', tenant: '*', name: 'examples', health: 'up', circuit: 'closed', inFlight: 0 }], shownLate: (tell) => (shownLate.add(tell), () => void shownLate.delete(tell)) });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const append = (tenant: string, type: string, stream: string, data: Record<string, unknown> = {}) =>
    store.append(stream, [createEvent({ type, stream, tenant, actor: { kind: 'system', id: 'test' }, data })]);

  it('serves the page with a CSP that allows only its own scripts and the import map it declares', async () => {
    const res = await app.inject({ url: '/ui' });
    expect(res.statusCode).to.equal(200);
    const csp = String(res.headers['content-security-policy']);
    const map = /<script type="importmap">(.*?)<\/script>/.exec(res.body)![1];
    expect(csp).to.contain(`'sha256-${createHash('sha256').update(map).digest('base64')}'`);
    expect(csp).to.match(/script-src 'self' 'sha256-[^']+'(;|$)/);
    expect(csp).to.contain("default-src 'none'");
    // Every import the map names, and every script and stylesheet the page loads, is served locally.
    const urls = [...Object.values(JSON.parse(map).imports as Record<string, string>), ...[...res.body.matchAll(/(?:src|href)="(\/ui\/[^"]+)"/g)].map((m) => m[1])];
    for (const url of urls) {
      const a = await app.inject({ url });
      expect(a.statusCode, url).to.equal(200);
      expect(String(a.headers['content-type']), url).to.match(/javascript|css|svg/);
    }
    expect(res.body).to.not.match(/https?:\/\//);
  });

  it('answers 404 for anything outside its fixed asset map, and 304 for a known ETag', async () => {
    for (const url of ['/ui/app/../../package.json', '/ui/app/%2e%2e/%2e%2e/package.json', '/ui/vendor/nothing.js', '/ui/secret', '/ui/app/main.ts']) {
      expect((await app.inject({ url })).statusCode, url).to.equal(404);
    }
    const first = await app.inject({ url: '/ui/app/main.js' });
    const again = await app.inject({ url: '/ui/app/main.js', headers: { 'if-none-match': String(first.headers.etag) } });
    expect(again.statusCode).to.equal(304);
  });

  it("counts each API request against the key's rate limits (429 with Retry-After beyond them), as REST and /mcp do", async () => {
    const limited = Fastify();
    installErrorHandler(limited);
    const rateLimit = createRateLimiter({ cache: new MemoryCache(100), perKeyPerMinute: 2, perTenantPerMinute: 100 });
    // The window is the clock's minute: the requests below, within one (see test/support/rate-window.ts).
    await roomInRateWindow(5_000);
    await limited.register(uiPlugin, { store, readModels: { waitForPosition: async () => true } as unknown as ReadModels, authenticate, rateLimit });
    try {
      const codes: number[] = [];
      for (const url of ['/ui/api/config', '/ui/api/activity', '/ui/api/mcp-health']) codes.push((await limited.inject({ url, headers: auth(ACME) })).statusCode);
      expect(codes).to.deep.equal([200, 200, 429]);
      const res = await limited.inject({ url: '/ui/api/stream', headers: auth(ACME) });
      expect(res.statusCode).to.equal(429);
      expect(res.json().code).to.equal('RATE_LIMITED');
      expect(Number(res.headers['retry-after'])).to.be.greaterThan(0);
      expect((await limited.inject({ url: '/ui/api/config', headers: auth(ROOT) })).statusCode, 'another key').to.equal(200);
    } finally {
      await limited.close();
    }
  });

  it('opens no stream for a client gone while its key was being checked (it kept a heartbeat re-authenticating, and a listener, forever)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const checks: Record<string, number> = {};
    const slow = async (h: string | undefined) => {
      const key = (h ?? '').replace(/^Bearer /, '');
      checks[key] = (checks[key] ?? 0) + 1;
      if (key === 'gone') await gate;
      return { ...principals[ACME], subject: key };
    };
    const gw = Fastify();
    await gw.register(uiPlugin, { store, readModels: { waitForPosition: async () => true } as unknown as ReadModels, authenticate: slow, heartbeatMs: 50 });
    const url = await gw.listen({ host: '127.0.0.1', port: 0 });
    try {
      const socketClosed = new Promise<void>((r) => gw.server.once('connection', (socket) => socket.once('close', () => r())));
      const ac = new AbortController();
      const asked = fetch(`${url}/ui/api/stream`, { headers: auth('gone'), signal: ac.signal }).catch(() => undefined);
      await until(() => checks.gone === 1);
      ac.abort();
      await asked;
      await socketClosed;
      release();
      // A witness stream on the same process: three of its heartbeats, and the gone client's
      // key was not checked again.
      const witness = await fetch(`${url}/ui/api/stream`, { headers: auth('witness') });
      const reader = witness.body!.pipeThrough(new TextDecoderStream()).getReader();
      let beats = 0;
      while (beats < 3) beats += ((await reader.read()).value ?? '').split('keep-alive').length - 1;
      await reader.cancel();
      expect(checks.gone).to.equal(1);
    } finally {
      // Not waiting out the client's idle keep-alive connections (4 s): this test is not about shutdown.
      const closing = gw.close();
      gw.server.closeAllConnections();
      await closing;
    }
  });

  it('refuses its API and stream without a valid key (401 problem)', async () => {
    for (const url of ['/ui/api/config', '/ui/api/activity', '/ui/api/mcp-health', '/ui/api/stream']) {
      const res = await app.inject({ url, headers: auth('wrong') });
      expect(res.statusCode, url).to.equal(401);
      expect(res.json().code).to.equal('UNAUTHENTICATED');
      // The stream's refusals too (its open stream always was): docs/security.md, every /ui/api answer.
      expect(res.headers['cache-control'], url).to.equal('no-store');
    }
    const cfg = await app.inject({ url: '/ui/api/config', headers: auth(ACME) });
    // What a tenant's key reads is never kept by a proxy or browser cache (nor its refusals).
    for (const url of ['/ui/api/config', '/ui/api/activity', '/ui/api/mcp-health', '/ui/api/contract?chainId=1', '/ui/api/stream?after=x']) {
      for (const key of [ACME, 'wrong']) expect((await app.inject({ url, headers: auth(key) })).headers['cache-control'], `${url} ${key}`).to.equal('no-store');
    }
    expect(cfg.json()).to.deep.equal({
      tenant: 'acme',
      role: 'operator',
      permissions: ['tasks:read', 'tasks:write', 'tasks:approve', 'events:read', 'proofs:read', 'mcp:read', 'mcp:write', 'mcp:call'],
      crossTenant: false,
      actor: { kind: 'user', id: 'op' },
      chainRpcUrl: 'http://127.0.0.1:8545',
    });
  });

  it("proposes the chain RPC URL to the Verify page only when it holds no credential: a provider's key in its path or query (Infura's /v3/<key>, ?apikey=), or a user and password, went in clear to every signed-in key, a viewer's too, while logs and the start line mask it", async () => {
    const offered = async (chainRpcUrl: string) => {
      const a = Fastify();
      installErrorHandler(a);
      await a.register(uiPlugin, { store, readModels: {} as ReadModels, authenticate, chainRpcUrl });
      try {
        return (await a.inject({ url: '/ui/api/config', headers: auth('key-acme-viewer-0000000000000') })).json().chainRpcUrl as string | undefined;
      } finally {
        await a.close();
      }
    };
    expect(await offered('https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef')).to.equal(undefined);
    expect(await offered('https://rpc.example.net/?apikey=Sekr3t')).to.equal(undefined);
    expect(await offered('https://user:pass@node.example.net:8545/')).to.equal(undefined);
    expect(await offered('http://127.0.0.1:8545')).to.equal('http://127.0.0.1:8545');
    expect(await offered('https://ethereum-rpc.publicnode.com')).to.equal('https://ethereum-rpc.publicnode.com');
  });

  it("streams only the caller's tenant's notices (plus shared and system ones), without payloads, after the read side has them", async () => {
    const taskId = newId();
    // Appended once the stream said hello (it hears what follows from then on), not after a fixed
    // pause a loaded machine can outlast before the stream is open.
    let hello = false;
    const listening = readStream(`${base}/ui/api/stream`, ACME, (es) => ((hello ||= es.some((e) => e.event === 'hello')), es.some((e) => e.data.type === 'TaskCompleted')), 20_000);
    for (const end = Date.now() + 10_000; !hello; ) {
      if (Date.now() > end) throw new Error('the stream did not say hello within 10 s');
      await new Promise((r) => setTimeout(r, 5));
    }
    await append('globex', 'TaskSubmitted', `task-${newId()}`, { instruction: 'secret of globex' });
    await append('acme', 'TaskSubmitted', `task-${taskId}`, { instruction: 'acme work' });
    await append('system', 'BatchSealed', 'auditbatch-log', { batchId: 0 });
    await append('acme', 'ToolCallFailed', `toolcall-${newId()}`, { taskId, serverId: 's1', server: 'examples', tool: 'echo', error: { code: 'X', message: 'boom' }, latencyUs: 1500 });
    await append('acme', 'TaskCompleted', `task-${taskId}`, {});
    const { status, out } = await listening;
    expect(status).to.equal(200);
    const notices = out.filter((e) => e.event === 'event').map((e) => e.data);
    expect(notices.map((n) => [n.tenant, n.type])).to.deep.equal([
      ['acme', 'TaskSubmitted'],
      ['system', 'BatchSealed'],
      ['acme', 'ToolCallFailed'],
      ['acme', 'TaskCompleted'],
    ]);
    expect(notices[0]).to.not.have.property('data');
    expect(notices[2]).to.include({ taskId, failure: true });
    expect(JSON.stringify(out)).to.not.contain('secret of globex');
    for (const n of notices) expect(waited).to.include(n.position);
  });

  it('replays what a reconnecting client missed, from the position it names', async () => {
    const head = await store.headPosition();
    await append('acme', 'TaskSubmitted', `task-${newId()}`, { instruction: 'while away' });
    await new Promise((r) => setTimeout(r, 500));
    const { out } = await readStream(`${base}/ui/api/stream?after=${head}`, ACME, (es) => es.some((e) => e.event === 'event'));
    expect(out.find((e) => e.event === 'event')!.data.position).to.equal(head + 1);
  });

  it('ends the stream of a key revoked while it listens (checked again at each heartbeat)', async () => {
    const key = 'key-acme-revoked-later-000000';
    const res = await fetch(`${base}/ui/api/stream`, { headers: auth(key) });
    expect(res.status).to.equal(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read();
    delete principals[key];
    const ended = (async () => {
      for (;;) if ((await reader.read()).done) return true;
    })();
    const timeout = new Promise<boolean>((r) => setTimeout(() => r(false), 3_000));
    const done = await Promise.race([ended, timeout]);
    if (!done) await reader.cancel();
    expect(done, 'the stream of a revoked key is still open').to.equal(true);
    expect((await app.inject({ url: '/ui/api/stream', headers: auth(key) })).statusCode).to.equal(401);
  });

  it('describes a configured contract for the Approvals page; bad queries name the field, unknown contracts are 404', async () => {
    const get = (q: string, key = ACME) => app.inject({ url: `/ui/api/contract?${q}`, headers: auth(key) });
    const ok = await get(`chainId=31337&address=${TOKEN.toUpperCase().replace('0X', '0x')}&method=transfer`);
    expect(ok.statusCode).to.equal(200);
    expect(ok.json()).to.deep.include({ name: 'DemoToken', address: TOKEN });
    // An overloaded method is asked for by the signature the proposal records.
    const bySignature = await get(`chainId=31337&address=${TOKEN}&method=${encodeURIComponent('transfer(address,uint256)')}`);
    expect(bySignature.statusCode).to.equal(200);
    expect(bySignature.json()).to.include({ name: 'DemoToken' });
    expect((await get(`chainId=31337&address=0x${'1'.repeat(40)}`)).json()).to.include({ status: 404, code: 'NOT_FOUND' });
    for (const [q, field] of [
      [`chainId=x&address=${TOKEN}`, 'chainId'],
      ['chainId=1&address=0x12', 'address'],
      [`chainId=1&address=${TOKEN}&method=a(b`, 'method'],
      [`chainId=1&address=${TOKEN}&method=1a`, 'method'],
    ]) {
      const bad = await get(q);
      expect(bad.statusCode, q).to.equal(400);
      expect(bad.json()).to.include({ code: 'VALIDATION_FAILED', field });
    }
    expect((await get(`chainId=1&address=${TOKEN}`, 'nope')).statusCode).to.equal(401);
  });

  it('counts activity per minute and tool latency per server, scoped to the tenant', async () => {
    const acme = (await app.inject({ url: '/ui/api/activity', headers: auth(ACME) })).json();
    // Summed over the window, so a minute boundary during the test changes nothing.
    const total = (buckets: Record<string, number>[], k: string) => buckets.reduce((n, b) => n + b[k], 0);
    expect(acme.buckets).to.have.length(60);
    expect(['tasksSubmitted', 'tasksCompleted', 'toolCalls', 'toolErrors'].map((k) => total(acme.buckets, k))).to.deep.equal([2, 1, 1, 1]);
    const root = (await app.inject({ url: '/ui/api/activity', headers: auth(ROOT) })).json();
    expect(total(root.buckets, 'tasksSubmitted')).to.equal(3);
    const health = (await app.inject({ url: '/ui/api/mcp-health', headers: auth(ACME) })).json();
    expect(health.upstreams).to.have.length(1);
    expect(health.calls).to.deep.equal([{ serverId: 's1', server: 'examples', calls: 1, errors: 1, p50Ms: 1.5, p95Ms: 1.5, lastCallAt: health.calls[0].lastCallAt }]);
  });
  // After the activity test: its events would change the counts there.
  it("tells open streams again, in the caller's scope, of a task the gap repair rebuilt after its notices went out (the page showed it running until reloaded)", async () => {
    const taskId = newId();
    const { events } = await append('acme', 'TaskCompleted', `task-${taskId}`, {});
    const other = (await append('globex', 'TaskCompleted', `task-${newId()}`, {})).events[0];
    const head = await store.headPosition();
    const listening = readStream(`${base}/ui/api/stream?after=${head}`, ACME, (es) => es.some((e) => e.data.again));
    await until(() => shownLate.size === 1);
    // Told of the rebuilt task and of another tenant's, until the stream (open by then) hears it.
    const telling = setInterval(() => {
      for (const tell of shownLate) tell([other, events[0]]);
    }, 50);
    const { out } = await listening.finally(() => clearInterval(telling));
    const again = out.filter((e) => e.event === 'event').map((e) => e.data);
    expect(again.slice(0, 1)).to.deep.equal([{ position: events[0].position, id: events[0].id, type: 'TaskCompleted', stream: `task-${taskId}`, tenant: 'acme', occurredAt: events[0].occurredAt, taskId, again: true }]);
  });

  it('streams to each role only the notices of what it may read: no key events without events:read, no batches without proofs:read', async () => {
    const head = await store.headPosition();
    const counted = async (key: string) => (await app.inject({ url: '/ui/api/activity', headers: auth(key) })).json().buckets.reduce((n: number, b: { events: number }) => n + b.events, 0);
    const before = { operator: await counted(ACME), viewer: await counted('key-acme-viewer-0000000000000') };
    const taskId = newId();
    await append('acme', 'TaskSubmitted', `task-${taskId}`, { instruction: 'x' });
    await append('acme', 'ApiKeyCreated', `apikey-${newId()}`, { keyId: newId(), role: 'admin', crossTenant: false, prefix: 'omk_abcdefgh' });
    await append('acme', 'ApiKeyRevoked', `apikey-${newId()}`, { keyId: newId() });
    await append('system', 'BatchSealed', 'auditbatch-log', { batchId: 1 });
    await append('*', 'McpServerRegistered', `mcpserver-${newId()}`, {});
    await append('acme', 'ToolCallCompleted', `toolcall-${newId()}`, { server: 'examples', tool: 'echo' });
    await append('acme', 'TaskCompleted', `task-${taskId}`, {});
    const seen = async (key: string) => {
      const { out } = await readStream(`${base}/ui/api/stream?after=${head}`, key, (es) => es.some((e) => e.data.type === 'TaskCompleted'));
      return out.filter((e) => e.event === 'event').map((e) => e.data.type);
    };
    const everything = ['TaskSubmitted', 'ApiKeyCreated', 'ApiKeyRevoked', 'BatchSealed', 'McpServerRegistered', 'ToolCallCompleted', 'TaskCompleted'];
    expect(await seen('key-acme-operator-000000000000')).to.deep.equal(everything);
    expect(await seen('key-acme-auditor-000000000000')).to.deep.equal(everything);
    for (const key of ['key-acme-viewer-0000000000000', 'key-acme-agent-00000000000000']) {
      expect(await seen(key), key).to.deep.equal(['TaskSubmitted', 'McpServerRegistered', 'ToolCallCompleted', 'TaskCompleted']);
    }
    // Nor counted: a viewer's Events sparkline does not move when a key is issued or revoked.
    expect((await counted(ACME)) - before.operator, "acme's five").to.equal(5);
    expect((await counted('key-acme-viewer-0000000000000')) - before.viewer, 'no key events').to.equal(3);
  });

  it("ends a key's oldest live stream beyond 20 open at once (streams never end by themselves: a key could hold the process's memory and sockets)", async () => {
    const open = async (key = ACME) => {
      const ac = new AbortController();
      const res = await fetch(`${base}/ui/api/stream`, { headers: auth(key), signal: ac.signal });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      await reader.read(); // hello
      return { ac, reader };
    };
    const streams = [];
    for (let i = 0; i < 21; i++) streams.push(await open());
    const other = await open(ROOT); // another key's count is its own
    await append('acme', 'McpServerHealthChanged', `mcpserver-${newId()}`, {});
    const ends = async (reader: ReadableStreamDefaultReader<string>) => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return 'ended';
        if (value.includes('event: event')) return 'heard the event';
      }
    };
    try {
      expect(await ends(streams[0].reader), 'the oldest stream of the key').to.equal('ended');
      expect(await ends(streams[1].reader)).to.equal('heard the event');
      expect(await ends(streams[20].reader)).to.equal('heard the event');
      expect(await ends(other.reader)).to.equal('heard the event');
    } finally {
      for (const s of [...streams, other]) s.ac.abort();
    }
  });

  it("ends a tenant's oldest live stream beyond its cap (200 by default), whichever of its keys opened it: a tenant admin's 100 keys held 20 each, 2,000 streams of up to 1 MiB unread", async () => {
    const capped = Fastify();
    installErrorHandler(capped);
    await capped.register(uiPlugin, { store, readModels: { waitForPosition: async () => true } as unknown as ReadModels, authenticate, heartbeatMs: 60_000, maxStreamsPerKey: 2, maxStreamsPerTenant: 3 });
    const at = await capped.listen({ host: '127.0.0.1', port: 0 });
    const open = async (key: string) => {
      const ac = new AbortController();
      const res = await fetch(`${at}/ui/api/stream`, { headers: auth(key), signal: ac.signal });
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      await reader.read(); // hello
      return { ac, reader };
    };
    const VIEWER = 'key-acme-viewer-0000000000000';
    const streams = [await open(ACME), await open(ACME), await open(VIEWER), await open(VIEWER)];
    const other = await open(ROOT); // another tenant's count is its own
    await append('acme', 'TaskStarted', `task-${newId()}`, {});
    const ends = async (reader: ReadableStreamDefaultReader<string>) => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return 'ended';
        if (value.includes('event: event')) return 'heard the event';
      }
    };
    try {
      expect(await ends(streams[0].reader), "the tenant's oldest stream").to.equal('ended');
      for (const s of streams.slice(1)) expect(await ends(s.reader)).to.equal('heard the event');
      expect(await ends(other.reader)).to.equal('heard the event');
    } finally {
      for (const s of [...streams, other]) s.ac.abort();
      await capped.close();
    }
  });

  // A malformed `after` was ignored: the stream opened as if none was given, so a client that
  // sent one (a bug, a hand-written URL) silently missed what it asked to hear, told nothing.
  it('refuses a malformed after (400 VALIDATION_FAILED naming querystring.after) before opening a stream, after the key', async () => {
    const cases: [string, RegExp][] = [
      ['after=', /^querystring\.after: empty/],
      ['after=abc', /^querystring\.after: an integer in decimal digits, from -1 to /],
      ['after=1e3', /^querystring\.after: an integer in decimal digits/],
      ['after=0x10', /^querystring\.after: an integer in decimal digits/],
      ['after=1.0', /^querystring\.after: an integer in decimal digits/],
      ['after=-2', /^querystring\.after: /],
      ['after=99999999999999999', /^querystring\.after: /],
      ['after=1&after=2', /^querystring\.after: given 2 times; give it once$/],
    ];
    for (const [q, message] of cases) {
      const res = await app.inject({ url: `/ui/api/stream?${q}`, headers: auth(ACME) });
      expect(res.statusCode, q).to.equal(400);
      expect(res.json(), q).to.include({ code: 'VALIDATION_FAILED', field: 'querystring.after' });
      expect(res.json().detail, q).to.match(message);
      expect(res.headers['cache-control'], q).to.equal('no-store');
    }
    // What the dashboard sends: a position the server told it, -1 from a hub that had announced nothing.
    for (const q of ['after=-1', 'after=0']) {
      const { out } = await readStream(`${base}/ui/api/stream?${q}`, ACME, (es) => es.some((e) => e.event === 'hello'));
      expect(out.map((e) => e.event), q).to.include('hello');
    }
    // The key first, as on /v1: no valid key, no word on the query.
    expect((await app.inject({ url: '/ui/api/stream?after=abc', headers: auth('wrong') })).statusCode).to.equal(401);
  });

  it('tells a client reconnecting from before what this process can replay to reload (reset), rather than miss events silently', async () => {
    const away = await store.headPosition();
    // A laptop asleep through a burst: more events than the live backlog keeps (2,000, trimmed past 4,000).
    const stream = `task-${newId()}`;
    await store.append(stream, Array.from({ length: 4_001 }, () => createEvent({ type: 'TaskStarted', stream, tenant: 'acme', actor: { kind: 'system', id: 'test' }, data: {} })));
    const head = await store.headPosition();
    // Announced (and trimmed) before the client comes back; one still to come would be heard live.
    for (let i = 0; i < 1_000 && (await app.inject({ url: '/ui/api/activity', headers: auth(ROOT) })).json().position !== head; i++) await new Promise((r) => setTimeout(r, 10));
    const ac = new AbortController();
    const res = await fetch(`${base}/ui/api/stream?after=${away}`, { headers: auth(ACME), signal: ac.signal });
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes('event: reset')) text += (await reader.read()).value;
    await append('acme', 'TaskStarted', stream);
    while (!text.includes('event: event')) text += (await reader.read()).value;
    ac.abort();
    const frames = text.split('\n\n').filter((f) => f.startsWith('event:') || f.startsWith('id:'));
    // The page reloads everything: the backlog it is past is not replayed to it, only what follows.
    expect(frames.map((f) => /^event: (.*)$/m.exec(f)![1])).to.deep.equal(['hello', 'reset', 'event']);
    expect(JSON.parse(/^data: (.*)$/m.exec(frames[1])![1])).to.deep.equal({ position: head });
    expect(JSON.parse(/^data: (.*)$/m.exec(frames[2])![1]).position).to.equal(head + 1);
    // A client that is not behind hears no reset.
    const recent = await readStream(`${base}/ui/api/stream?after=${head}`, ACME, (es) => es.some((e) => e.event === 'event'));
    expect(recent.out.map((e) => e.event)).to.deep.equal(['hello', 'event']);
  });

  // Last: it closes the app.
  it('ends open live streams when the app closes, so a dashboard left open does not hold shutdown to its deadline', async () => {
    const res = await fetch(`${base}/ui/api/stream`, { headers: auth(ACME) });
    expect(res.status).to.equal(200);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read();
    let timer: NodeJS.Timeout | undefined;
    const closing = app.close();
    const closed = await Promise.race([
      (async () => {
        for (;;) if ((await reader.read()).done) break;
        // The stream ended. What close() may still wait on is the connections the test's fetch
        // keeps open for reuse (up to 4 s; one opened and never used counts as busy, not idle):
        // not the dashboard's, so they are cut, and close() must then be done.
        app.server.closeAllConnections();
        return closing.then(() => true);
      })(),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 8_000))),
    ]);
    clearTimeout(timer);
    expect(closed, 'app.close() waited on the open stream').to.equal(true);
  });
});

describe('uiPlugin: a shared server as a tenant sees it on the MCP page', function () {
  this.timeout(30_000);
  let dir: string;
  let store: SqlEventStore;
  let app: FastifyInstance;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-ui-shared-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
    app = Fastify();
    installErrorHandler(app);
    // A shared server's circuit as the viewer's tenant meets it (acme's own is open); the operator's view, the server's with a count.
    const upstreams = (viewer?: { tenant: string }) => [
      { id: 's1', tenant: '*', name: 'examples', health: 'up', circuit: viewer?.tenant === 'acme' ? 'open' : 'closed', inFlight: 3, ...(viewer ? {} : { tenantCircuitsOpen: 1 }) },
      { id: 's2', tenant: 'acme', name: 'crm', health: 'up', circuit: 'closed', inFlight: 2 },
      { id: 's3', tenant: 'globex', name: 'erp', health: 'up', circuit: 'closed', inFlight: 1 },
      { id: 's4', tenant: '*', name: 'notion', health: 'down', circuit: 'closed', inFlight: 0, variableMissingHere: 'NOTION_TOKEN' },
      { id: 's5', tenant: 'acme', name: 'hosted', health: 'down', circuit: 'closed', inFlight: 0, variableMissingHere: 'ACME_KEY' },
      { id: 's6', tenant: 'globex', name: 'billing', health: 'down', circuit: 'closed', inFlight: 0, variableMissingHere: 'GLOBEX_KEY' },
    ];
    await app.register(uiPlugin, { store, readModels: { waitForPosition: async () => true } as unknown as ReadModels, authenticate, upstreams });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("does not show a tenant how many calls are in flight on a shared server: they are every tenant's (cross-tenant keys see them)", async () => {
    const acme = (await app.inject({ url: '/ui/api/mcp-health', headers: auth(ACME) })).json();
    expect(acme.upstreams.slice(0, 2)).to.deep.equal([
      { id: 's1', tenant: '*', name: 'examples', health: 'up', circuit: 'open' },
      { id: 's2', tenant: 'acme', name: 'crm', health: 'up', circuit: 'closed', inFlight: 2 },
    ]);
    const root = (await app.inject({ url: '/ui/api/mcp-health', headers: auth(ROOT) })).json();
    expect(root.upstreams.map((u: { inFlight?: number }) => u.inFlight)).to.deep.equal([3, 2, 1, 0, 0, 0]);
  });

  it("shows a tenant its own circuit on a shared server, never another tenant's; cross-tenant keys the server's, with how many tenants' circuits are open", async () => {
    const circuit = (body: { upstreams: { id: string; circuit: string; tenantCircuitsOpen?: number }[] }) => body.upstreams.find((u) => u.id === 's1');
    expect(circuit((await app.inject({ url: '/ui/api/mcp-health', headers: auth(ACME) })).json())).to.include({ circuit: 'open' }).and.not.have.property('tenantCircuitsOpen');
    expect(circuit((await app.inject({ url: '/ui/api/mcp-health', headers: auth(GLOBEX) })).json())).to.include({ circuit: 'closed' }).and.not.have.property('tenantCircuitsOpen');
    expect(circuit((await app.inject({ url: '/ui/api/mcp-health', headers: auth(ROOT) })).json())).to.include({ circuit: 'closed', tenantCircuitsOpen: 1 });
  });

  it("names the variable a server lacks on this replica (its /readyz line only counts them: it is public) to the server's tenant; a shared server's to cross-tenant keys only (its configuration is the operator's)", async () => {
    const lacking = (body: { upstreams: { name: string; variableMissingHere?: string }[] }) => body.upstreams.map((u) => [u.name, u.variableMissingHere ?? null]);
    const acme = (await app.inject({ url: '/ui/api/mcp-health', headers: auth(ACME) })).json();
    expect(lacking(acme)).to.deep.equal([['examples', null], ['crm', null], ['notion', null], ['hosted', 'ACME_KEY']]);
    const root = (await app.inject({ url: '/ui/api/mcp-health', headers: auth(ROOT) })).json();
    expect(lacking(root).filter(([, v]) => v)).to.deep.equal([['notion', 'NOTION_TOKEN'], ['hosted', 'ACME_KEY'], ['billing', 'GLOBEX_KEY']]);
  });
});
