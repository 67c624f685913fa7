/**
 * /metrics of the whole app (src/main.ts, in-process) while its event store is unreachable: the
 * scrape must still answer, with every metric, the lag gauges unknown (NaN) and their failed
 * reads counted, and dependency_up naming the store down. A failed or hung gauge read used to
 * fail or hold the whole scrape, so Prometheus got nothing exactly during the outage. Also: the
 * sealing lag on KurrentDB counts events (its positions are byte offsets with gaps). And while
 * Redis is unreachable: the projections go on, so the projection lag stays true (0), and the
 * cache shows down in dependency_up and /readyz.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { cutProxy, type CutProxy } from '../support/cut-proxy';
import { freePort } from '../support/free-port';
import { startKurrentFake, type KurrentFake } from '../support/kurrentdb-fake';
import { appendEvents } from '../relay/event-log-fixture';
import { createTestDatabase, MYSQL_BASE_URL, mysqlAvailable, REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';

/** Hardhat account #3: a sealer key of its own. */
const SEALER_KEY = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6';

/** Sample lines of one metric family, by their text after the name. */
function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(name)).map((l) => l.slice(name.length));
}

describe('/metrics while the event store is unreachable (real scrape of the app)', function () {
  this.timeout(120_000);
  let chainDir: string;
  let chain: LocalChain;
  const dirs: string[] = [];
  let app: OpenMcp | undefined;

  before(async () => {
    chainDir = mkdtempSync(join(tmpdir(), 'omc-outage-chain-'));
    chain = await startLocalChain({ port: await freePort(), dataDir: chainDir });
  });
  afterEach(async () => {
    await app?.close().catch(() => {});
    app = undefined;
  });
  after(async () => {
    await chain?.stop();
    for (const d of [chainDir, ...dirs]) rmSync(d, { recursive: true, force: true });
  });

  /** The read cache is left alone this long after a failure (CACHE_SKIP_MS, 5 s, in production): the Redis test waits past it. */
  const CACHE_SKIP_MS = 500;

  /** The log of the app `start` made last (JSON lines, from warn up when LOG_LEVEL is set so). */
  let log: string[] = [];

  async function start(env: Record<string, string>): Promise<OpenMcp> {
    const dir = mkdtempSync(join(tmpdir(), 'omc-outage-'));
    dirs.push(dir);
    const config = loadConfig({
      DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      OPENMCP_EXAMPLES: 'off',
      CHAIN_RPC_URL: chain.rpcUrl,
      ANCHOR_CONTRACT: chain.contractAddress,
      ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey,
      SEALER_PRIVATE_KEY: SEALER_KEY,
      ...env,
    });
    log = [];
    const logStream = { write: (line: string) => void log.push(line) };
    app = await startOpenMcp(config, { listen: false, print: () => {}, cacheSkipMs: CACHE_SKIP_MS, logStream });
    return app;
  }

  /**
   * One scrape, given at most `ms` to answer (a hung gauge read used to hold it until Prometheus
   * gave up); `scrapeTimeoutS` is sent as Prometheus sends its scrape_timeout.
   */
  async function scrape(a: OpenMcp, ms = 15_000, scrapeTimeoutS?: number): Promise<{ status: number; body: string }> {
    const res = await Promise.race([
      a.app.inject({ url: '/metrics', headers: scrapeTimeoutS ? { 'x-prometheus-scrape-timeout-seconds': String(scrapeTimeoutS) } : {} }),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`/metrics gave no answer in ${ms} ms`)), ms)),
    ]);
    return { status: res.statusCode, body: res.body };
  }

  /** Past the second for which a readiness answer is shared (sharedReadinessCheck): the next scrape checks again. */
  const pastSharedReadiness = () => new Promise((r) => setTimeout(r, 1100));

  function expectEveryMetricWithLagsUnknown(body: string, store: RegExp): void {
    expect(body).to.contain('openmcp_http_request_duration_seconds');
    expect(body).to.contain('process_cpu_user_seconds_total');
    expect(samples(body, 'openmcp_dependency_up').find((l) => store.test(l))).to.match(/ 0$/);
    expect(samples(body, 'openmcp_sealing_lag_events')).to.deep.equal([' Nan']);
    expect(samples(body, 'openmcp_anchoring_lag_batches')).to.deep.equal([' Nan']);
    expect(samples(body, 'openmcp_metric_read_failures_total{metric="openmcp_sealing_lag_events"}')[0]).to.match(/^ [1-9]\d*$/);
  }

  describe('on MariaDB behind a cuttable proxy', () => {
    let proxy: CutProxy;
    let db: Awaited<ReturnType<typeof createTestDatabase>>;

    before(async function () {
      await requireService(this, 'MariaDB', mysqlAvailable);
      db = await createTestDatabase('omc_outage');
    });
    beforeEach(async () => {
      const u = new URL(MYSQL_BASE_URL);
      proxy = await cutProxy(u.hostname, Number(u.port || 3306));
    });
    afterEach(async () => {
      await proxy?.up();
      await app?.close().catch(() => {});
      app = undefined;
      await proxy?.close();
    });
    after(async () => {
      await db?.drop();
    });

    const proxied = () => {
      const u = new URL(db.url);
      u.host = `127.0.0.1:${proxy.port}`;
      return u.toString();
    };

    it('answers with every metric while MariaDB is down, the lags unknown (NaN) and counted, and reads them again once it is back', async () => {
      const a = await start({ OPENMCP_ROLES: 'api,projector', DATABASE_URL: proxied() });
      const before = await scrape(a);
      expect(before.status).to.equal(200);
      expect(samples(before.body, 'openmcp_projection_lag_events{projection="tasks"}')).to.deep.equal([' 0']);
      await proxy.down();
      await pastSharedReadiness();
      const during = await scrape(a);
      expect(during.status, during.body.slice(0, 300)).to.equal(200);
      expectEveryMetricWithLagsUnknown(during.body, /event store/);
      expect(samples(during.body, 'openmcp_projection_lag_events{projection="tasks"}')).to.deep.equal([' Nan']);
      expect(samples(during.body, 'openmcp_metric_read_failures_total{metric="openmcp_projection_lag_events"}')[0]).to.match(/^ [1-9]\d*$/);
      await proxy.up();
      const end = Date.now() + 30_000;
      let after = await scrape(a);
      while (samples(after.body, 'openmcp_sealing_lag_events')[0] !== ' 0' && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 300));
        after = await scrape(a);
      }
      expect(samples(after.body, 'openmcp_sealing_lag_events')).to.deep.equal([' 0']);
    });

    it("counts the sealer's and anchorer's errors during the outage under catalogue codes (DEPENDENCY_UNAVAILABLE), not the driver's (it counted ECONNREFUSED, which no alert watches)", async () => {
      const a = await start({ OPENMCP_ROLES: 'sealer,anchorer', DATABASE_URL: proxied(), LEADER_LEASE_MS: '2000' });
      await proxy.down();
      const end = Date.now() + 30_000;
      let counted: Record<string, number> = {};
      // Both roles poll the log and renew their leases every ~0.7 s: a few rounds of each.
      while ((counted.DEPENDENCY_UNAVAILABLE ?? 0) < 6 && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 300));
        counted = Object.fromEntries(
          samples((await scrape(a)).body, 'openmcp_errors_total').map((l) => [/code="([^"]+)"/.exec(l)![1], Number(l.split(' ').at(-1))]),
        );
      }
      expect(counted.DEPENDENCY_UNAVAILABLE, JSON.stringify(counted)).to.be.at.least(6);
      const catalogue = new Set([...readFileSync(join(__dirname, '..', '..', 'docs', 'errors.md'), 'utf8').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));
      expect(Object.keys(counted).filter((code) => !catalogue.has(code)), 'codes not in docs/errors.md').to.deep.equal([]);
    });

    it("writes the database driver's warnings of the outage (knex's `Connection Error: …` for each pooled connection lost) to the process's JSON log, not as bare lines on the console that a JSON log pipeline cannot parse", async () => {
      const written: string[] = [];
      const saved = { error: console.error, warn: console.warn, info: console.info, log: console.log };
      const capture = (...args: unknown[]) => void written.push(args.map(String).join(' '));
      Object.assign(console, { error: capture, warn: capture, info: capture, log: capture });
      try {
        const a = await start({ OPENMCP_ROLES: 'api,projector', DATABASE_URL: proxied(), LOG_LEVEL: 'warn' });
        expect((await scrape(a)).status).to.equal(200);
        await proxy.down();
        await proxy.up();
        // The pool's connections were cut under it: the next queries find them disposed, and knex says so.
        const end = Date.now() + 30_000;
        while (!log.some((l) => l.includes('Connection Error')) && !written.some((l) => l.includes('Connection Error')) && Date.now() < end) {
          await pastSharedReadiness();
          await scrape(a);
        }
      } finally {
        Object.assign(console, saved);
      }
      expect(written.filter((l) => l.includes('Connection Error')), 'knex lines on the console').to.deep.equal([]);
      const lines = log.filter((l) => l.includes('Connection Error')).map((l) => JSON.parse(l) as { level: number; component?: string; msg: string });
      expect(lines.length, 'knex lines in the JSON log').to.be.greaterThan(0);
      for (const l of lines) expect({ level: l.level, component: l.component }).to.deep.equal({ level: 40, component: 'knex' });
    });

    it('answers while MariaDB hangs (connections open, nothing flows) instead of holding the scrape past its timeout', async () => {
      const a = await start({ OPENMCP_ROLES: 'api,projector', DATABASE_URL: proxied() });
      expect((await scrape(a)).status).to.equal(200);
      proxy.freeze();
      await pastSharedReadiness();
      // A 3 s scrape_timeout: the hung reads are given up after 1.5 s (5 s without the header).
      const during = await scrape(a, 15_000, 3);
      expect(during.status).to.equal(200);
      expectEveryMetricWithLagsUnknown(during.body, /event store/);
    });
  });

  describe('while Redis is unreachable (SQLite, Redis behind a cuttable proxy)', () => {
    let proxy: CutProxy;
    const prefix = redisTestPrefix('omc_outage_redis');

    before(async function () {
      await requireService(this, 'Redis', redisAvailable);
    });
    beforeEach(async () => {
      const u = new URL(REDIS_TEST_URL);
      proxy = await cutProxy(u.hostname, Number(u.port || 6379));
    });
    afterEach(async () => {
      await proxy?.up();
      await app?.close().catch(() => {});
      app = undefined;
      await proxy?.close();
    });
    after(async () => {
      await prefix.drop();
    });

    it('goes on projecting (lag 0, tasks readable), shows the cache down, and serves no view cached before the outage once Redis is back', async () => {
      const a = await start({ OPENMCP_ROLES: 'api,projector', REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_KEY_PREFIX: prefix.prefix, LOG_LEVEL: 'warn' });
      const auth = { authorization: `Bearer ${a.generatedAdminKey}` };
      const submit = async () => {
        const res = await a.app.inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'x' } }] } });
        expect(res.statusCode, res.body).to.equal(202);
        return res.json().id as string;
      };
      const get = async (id: string) => a.app.inject({ url: `/v1/tasks/${id}`, headers: auth });
      const first = await submit();
      expect((await get(first)).json().status).to.equal('submitted');

      await proxy.down();
      const cancel = await a.app.inject({ method: 'POST', url: `/v1/tasks/${first}/cancel`, headers: { ...auth, 'x-request-id': 'first-in-outage' }, payload: {} });
      expect(cancel.statusCode, cancel.body).to.equal(202);
      const during = await submit();
      const later = await submit();
      // Read-your-writes holds: the projector applied them (it used to retry its first batch until Redis was back).
      expect((await get(first)).json().status).to.equal('cancelled');
      expect((await get(during)).statusCode).to.equal(200);
      expect((await get(later)).statusCode).to.equal(200);
      // The outage is told once for the process (not per request: docs/operations.md, "Observability").
      const lines = log.map((l) => JSON.parse(l) as { msg: string; reqId?: string });
      expect(lines.filter((l) => l.msg.startsWith('rate-limit counters unreachable')), JSON.stringify(lines.map((l) => l.msg))).to.have.length(1);
      const metrics = (await scrape(a)).body;
      expect(samples(metrics, 'openmcp_projection_lag_events{projection="tasks"}')).to.deep.equal([' 0']);
      expect(samples(metrics, 'openmcp_dependency_up').find((l) => /cache \(redis\)/.test(l))).to.match(/ 0\.5$/);
      expect(samples(metrics, 'openmcp_errors_total{code="DEPENDENCY_UNAVAILABLE"}')[0]).to.match(/^ [1-9]\d*$/);
      // Degraded, not down: REST serves from SQL, so a 503 would only take every replica out of its load balancer.
      const ready = await a.app.inject({ url: '/readyz' });
      expect(ready.statusCode).to.equal(200);
      expect(ready.json().status).to.equal('degraded');
      const line = ready.json().dependencies.find((d: { name: string }) => d.name === 'cache (redis)');
      expect(line.state).to.equal('degraded');
      expect(line.detail).to.match(/REST answers from SQL/);

      await proxy.up();
      const end = Date.now() + 15_000;
      while ((await a.app.inject({ url: '/readyz' })).json().dependencies.find((d: { name: string }) => d.name === 'cache (redis)').state !== 'up') {
        expect(Date.now(), 'the cache up again in /readyz').to.be.below(end);
        await new Promise((r) => setTimeout(r, 200));
      }
      // Past the read cache's bypass window: reads go through Redis again, and find no pre-outage view.
      await new Promise((r) => setTimeout(r, CACHE_SKIP_MS + 200));
      expect((await get(first)).json().status).to.equal('cancelled');
    });
  });

  describe('on KurrentDB (gRPC fake)', () => {
    let fake: KurrentFake;
    before(async () => {
      fake = await startKurrentFake();
    });
    after(async () => {
      await fake?.stop();
    });

    it('counts the sealing lag in events (not log bytes), and answers with it unknown once the server is gone', async () => {
      const a = await start({ OPENMCP_ROLES: 'api', KURRENTDB_URL: fake.url });
      expect(samples((await scrape(a)).body, 'openmcp_sealing_lag_events')).to.deep.equal([' 0']);
      await appendEvents(a.store, 2, 5, 5);
      expect(samples((await scrape(a)).body, 'openmcp_sealing_lag_events')).to.deep.equal([' 10']);
      await fake.stop();
      await pastSharedReadiness();
      const during = await scrape(a);
      expect(during.status, during.body.slice(0, 300)).to.equal(200);
      expectEveryMetricWithLagsUnknown(during.body, /event store \(kurrentdb\)/);
    });
  });
});
