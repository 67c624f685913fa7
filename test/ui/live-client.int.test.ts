import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Principal } from '../../src/auth/principal';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import type { ReadModels } from '../../src/readmodels/port';
import { uiPlugin } from '../../src/ui';

// The dashboard's own live.js (plain ES module), run in Node against the real plugin: Node 20 has
// fetch and TextDecoderStream; the page's origin and its session storage are all it lacks.
type Live = {
  startLive(): void;
  stopLive(): void;
  onNotice(fn: (n: { position: number }) => void): () => void;
  onResync(fn: () => void): () => void;
  onLiveState(fn: (s: string) => void): () => void;
};
const MODULE: string = '../../ui/app/live.js';
const API_MODULE: string = '../../ui/app/api.js';

const until = async (cond: () => boolean, what: string, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};

describe('dashboard live feed (ui/app/live.js) across a gateway restart', function () {
  this.timeout(60_000);
  let dir: string;
  let store: SqlEventStore;
  let app: FastifyInstance | undefined;
  let origin = '';
  const realFetch = globalThis.fetch;
  const g = globalThis as unknown as { sessionStorage?: unknown; fetch: typeof fetch };
  const principal: Principal = { tenant: 'acme', role: 'operator', actor: { kind: 'user', id: 'op' }, crossTenant: false, via: 'api-key', subject: 'k1' };

  const serve = async () => {
    app = Fastify();
    await app.register(uiPlugin, { store, readModels: { waitForPosition: async () => true } as unknown as ReadModels, authenticate: async () => principal });
    origin = await app.listen({ host: '127.0.0.1', port: 0 });
  };
  const append = (n: number) => {
    const stream = `task-${newId()}`;
    return store.append(stream, Array.from({ length: n }, () => createEvent({ type: 'TaskStarted', stream, tenant: 'acme', actor: { kind: 'system', id: 'test' }, data: {} })));
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-live-client-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
    g.sessionStorage = { getItem: () => 'a-key', setItem() {}, removeItem() {} };
    g.fetch = (url, init) => realFetch(new URL(String(url), origin), init);
  });
  after(async () => {
    g.fetch = realFetch;
    delete g.sessionStorage;
    // Not waiting out the idle keep-alive connections of the stopped feed's fetch (4 s).
    const closing = app?.close();
    app?.server.closeAllConnections();
    await closing;
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reloads every view when it comes back to a restarted gateway after more events than it can replay', async () => {
    const live = (await import(MODULE)) as Live;
    await serve();
    const heard: number[] = [];
    let resyncs = 0;
    let state = '';
    live.onNotice((n) => heard.push(n.position));
    live.onResync(() => resyncs++);
    live.onLiveState((s) => (state = s));
    live.startLive();
    try {
      await until(() => state === 'live', 'the feed to connect');
      await append(1);
      const seen = await store.headPosition();
      await until(() => heard.includes(seen), 'the first notice');
      await app!.close();
      await until(() => state === 'reconnecting', 'the feed to notice the restart');
      // While it is down, more happens than a restarted process warms from (its last 5,000 events).
      await append(5_001);
      await serve();
      await until(() => resyncs > 0, 'the page to be told to reload');
      expect(resyncs).to.equal(1);
      // And it goes on hearing what happens next.
      await append(1);
      const next = await store.headPosition();
      await until(() => heard.includes(next), 'the next notice');
      expect(resyncs).to.equal(1);
    } finally {
      live.stopLive();
    }
  });

  it('reloads every view once when it is back after a break in which a request failed, and not after a mere reconnect', async () => {
    const live = (await import(MODULE)) as Live;
    const { api } = (await import(API_MODULE)) as { api(path: string): Promise<unknown> };
    await serve();
    let resyncs = 0;
    let state = '';
    const offResync = live.onResync(() => resyncs++);
    const offState = live.onLiveState((s) => (state = s));
    live.startLive();
    try {
      await until(() => state === 'live', 'the feed to connect');
      expect(resyncs, 'a first connection reloads nothing').to.equal(0);
      await app!.close();
      await until(() => state === 'reconnecting', 'the feed to notice the restart');
      // A page opened meanwhile: its request fails, and shows an error until something reloads it.
      expect(await api('/ui/api/config').catch((e: { code: string }) => e.code)).to.equal('NETWORK');
      await serve();
      await until(() => state === 'live', 'the feed to be back');
      await until(() => resyncs > 0, 'the page to be told to reload');
      expect(resyncs).to.equal(1);
      // Only a reconnect (a proxy's idle timeout, a stream cut): nothing failed, nothing to reload.
      await app!.close();
      await until(() => state === 'reconnecting', 'the feed to notice the second restart');
      await serve();
      await until(() => state === 'live', 'the feed to be back again');
      await append(1);
      const next = await store.headPosition();
      let heard = false;
      const offNotice = live.onNotice((n) => (heard ||= n.position === next));
      await until(() => heard, 'a notice after the second restart');
      offNotice();
      expect(resyncs).to.equal(1);
    } finally {
      offResync();
      offState();
      live.stopLive();
    }
  });
});
