/**
 * The composition root's own wiring (src/main.ts), started in-process as `openmcp start` does,
 * against a real Hardhat node, MariaDB and Redis: background errors of the relay, the sealer and
 * the anchorer count in openmcp_errors_total; with MySQL configured the single-leader leases live
 * in its `leases` table, not in Redis; /readyz names the LLM endpoint without its credentials;
 * REST, /mcp and /ui/api share one rate limiter, also while Redis is down; the dashboard's live
 * stream beats at UI_HEARTBEAT_MS; only processes that call tools start the stdio MCP servers.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { computeAddress, encryptKeystoreJsonSync, Wallet } from 'ethers';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config';
import { recordedPayloadPolicy } from '../../src/db/gateway-settings';
import { createEvent } from '../../src/core/envelope';
import { EXAMPLES_STDIO_SERVER } from '../../src/mcp/examples-server';
import { OWN_VARIABLES_CHECK_NAME } from '../../src/app/own-variables-readiness';
import { openKnex } from '../../src/db/knex';
import { toRow } from '../../src/eventstore/sql/rows';
import { startOpenMcp, type OpenMcp, type StartOptions } from '../../src/main';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { deployAuditAnchor } from '../../src/web3/audit-anchor';
import { createRpcProvider } from '../../src/web3/provider';
import { Kafka, logLevel } from 'kafkajs';
import { toKafkaMessage } from '../../src/bus/kafka';
import { newId } from '../../src/core/ids';
import { cutProxy } from '../support/cut-proxy';
import { startKafkaBroker } from '../support/kafka-broker';
import { freePort } from '../support/free-port';
import { createTestDatabase, mysqlAvailable, REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';

/** Hardhat account #3: a sealer key of its own. */
const SEALER_KEY = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6';

describe('src/main.ts wiring: error counts, lease store choice, /readyz redaction', function () {
  this.timeout(120_000);
  let chainDir: string;
  let chain: LocalChain;
  const dirs: string[] = [];
  let app: OpenMcp | undefined;

  before(async () => {
    chainDir = mkdtempSync(join(tmpdir(), 'omc-wiring-chain-'));
    chain = await startLocalChain({ port: await freePort(), dataDir: chainDir });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  after(async () => {
    await chain?.stop();
    for (const d of [chainDir, ...dirs]) rmSync(d, { recursive: true, force: true });
  });

  /** `openmcp start` in this process, not listening (app.inject), on a fresh DATA_DIR and the shared chain. */
  async function start(env: Record<string, string>, options: StartOptions = {}): Promise<OpenMcp> {
    const dir = mkdtempSync(join(tmpdir(), 'omc-wiring-'));
    dirs.push(dir);
    const config = loadConfig({
      DATA_DIR: join(dir, 'data'),
      LOG_LEVEL: 'silent',
      OPENMCP_EXAMPLES: 'off',
      CHAIN_RPC_URL: chain.rpcUrl,
      ANCHOR_CONTRACT: chain.contractAddress,
      ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey,
      SEALER_PRIVATE_KEY: SEALER_KEY,
      BATCH_MAX_SECONDS: '1',
      LEADER_LEASE_MS: '2000',
      ...env,
    });
    app = await startOpenMcp(config, { listen: false, print: () => {}, ...options });
    return app;
  }

  async function errorsCounted(a: OpenMcp): Promise<Record<string, number>> {
    const text = (await a.app.inject({ url: '/metrics' })).body;
    const out: Record<string, number> = {};
    for (const m of text.matchAll(/^openmcp_errors_total\{code="([^"]+)"\} (\d+)/gm)) out[m[1]] = Number(m[2]);
    return out;
  }

  /** Poll /metrics until some error is counted; the process runs only the role under test, so it is that role's. */
  async function untilErrorCounted(a: OpenMcp, ms = 45_000): Promise<Record<string, number>> {
    const end = Date.now() + ms;
    for (;;) {
      const counted = await errorsCounted(a);
      if (Object.values(counted).some((n) => n > 0)) return counted;
      if (Date.now() > end) throw new Error('no error counted in openmcp_errors_total');
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Pids of this process's children running the bundled stdio example: each gateway that connects to it starts one. */
  function exampleServerPids(): number[] {
    // ps exits 1 when this process has no child at all: the output is what counts.
    const out = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).stdout;
    return out
      .split('\n')
      .filter((l) => l.includes(EXAMPLES_STDIO_SERVER))
      .map((l) => Number(l.trim().split(/\s+/)[0]));
  }

  it('starts no stdio MCP server in a process without api, gateway or agent; a gateway process sharing the log starts it and the projector projects its tools (every role process started its own copy)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-wiring-shared-'));
    dirs.push(dir);
    const shared = { DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`, OPENMCP_EXAMPLES: 'on' };
    const before = new Set(exampleServerPids());
    const started = () => exampleServerPids().filter((pid) => !before.has(pid));
    const projector = await start({ OPENMCP_ROLES: 'projector', ...shared });
    app = undefined; // closed below, after the gateway process
    try {
      // OPENMCP_EXAMPLES=on registers and connects in the background, where it still does (below: once registered).
      await projector.registered;
      expect(started(), 'stdio servers started by the projector-only process').to.deep.equal([]);
      expect(projector.gateway, 'no MCP gateway in a projector-only process').to.equal(undefined);
      const ready = (await projector.app.inject({ url: '/readyz' })).json() as { dependencies: { name: string }[] };
      expect(ready.dependencies.map((d) => d.name)).to.not.include('tool search');
      expect(await recordedPayloadPolicy(projector.knex), 'a process that calls no tool records no payload policy').to.equal(undefined);

      const gateway = await start({ OPENMCP_ROLES: 'gateway', MCP_PAYLOAD_POLICY: 'hash-only', ...shared });
      // Recorded for `openmcp mcp stdio` on the same database, which refuses to record under another.
      expect(await recordedPayloadPolicy(projector.knex)).to.equal('hash-only');
      // Registered in the background: the port opens first.
      await gateway.registered;
      expect(started(), 'the gateway process starts the example server once').to.have.length(1);
      expect(gateway.gateway?.listTools('acme').map((t) => t.name)).to.include('examples__echo');
      // Its discovery, written by the gateway process, reaches the projector's read model.
      const end = Date.now() + 20_000;
      let tools: string[] = [];
      while (Date.now() < end) {
        tools = (await projector.knex('rm_mcp_tools').where('server', 'examples').select('name')).map((r: { name: string }) => r.name);
        if (tools.length) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(tools).to.include('echo');
    } finally {
      await projector.close();
    }
  });

  it('warns when the MySQL database DATABASE_URL names did not exist and the start created it (a typo in its name started on an empty database without a word); a start on a database that exists says nothing of it', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const db = await createTestDatabase('omc_wiring_created');
    await db.drop();
    try {
      const created = async () => {
        const lines: string[] = [];
        const a = await start({ OPENMCP_ROLES: 'projector', DATABASE_URL: db.url, LOG_LEVEL: 'warn' }, { logStream: { write: (l: string) => void lines.push(l) } });
        await a.close();
        app = undefined;
        return lines.map((l) => JSON.parse(l) as { level: number; database?: string; msg: string }).filter((l) => l.database !== undefined);
      };
      const first = await created();
      expect(first.map((l) => [l.level, l.database]), 'first start').to.deep.equal([[40, db.name]]);
      expect(first[0].msg).to.match(new RegExp(`^database ${db.name} did not exist: created it \\(empty\\)\\. .*DATABASE_URL`));
      expect(await created(), 'second start').to.deep.equal([]);
    } finally {
      await db.drop();
    }
  });

  it("counts the relay's background errors (Kafka unreachable) in openmcp_errors_total", async () => {
    // One connection attempt, not kafkajs' default five retries with backoff (about 7 s): the first failure is the error counted.
    const a = await start({ OPENMCP_ROLES: 'relay', KAFKA_BROKERS: `127.0.0.1:${await freePort()}` }, { relayKafka: { retry: { retries: 0 } } });
    await untilErrorCounted(a);
  });

  it("writes kafkajs's lines through the process's logger, so LOG_LEVEL holds them and they are its JSON (they went to the console in kafkajs's own format, even at LOG_LEVEL=silent)", async () => {
    const written: string[] = [];
    const saved = { error: console.error, warn: console.warn, info: console.info, log: console.log };
    const capture = (...args: unknown[]) => void written.push(args.map(String).join(' '));
    Object.assign(console, { error: capture, warn: capture, info: capture, log: capture });
    try {
      // LOG_LEVEL=silent (start()): the relay's failed connections must write nothing.
      const a = await start({ OPENMCP_ROLES: 'relay', KAFKA_BROKERS: `127.0.0.1:${await freePort()}` }, { relayKafka: { retry: { retries: 0 } } });
      await untilErrorCounted(a);
    } finally {
      Object.assign(console, saved);
    }
    expect(written.filter((l) => l.includes('kafkajs')), 'kafkajs lines on the console').to.deep.equal([]);
  });

  it("counts the sealer's background errors (an event it cannot hash) in openmcp_errors_total", async () => {
    const a = await start({ OPENMCP_ROLES: 'sealer' });
    const e = createEvent({ type: 'TaskSubmitted', stream: 'task-wiring', tenant: 'acme', actor: { kind: 'system', id: 'test' }, data: {} });
    expect(await errorsCounted(a), 'nothing counted before').to.deep.equal({});
    // An event with a damaged hash makes the sealer fail on it every time (it never skips an
    // event). The store refuses one (VALIDATION_FAILED), so it is written past the store, as a
    // restore gone wrong would.
    const position = (await a.store.headPosition()) + 1;
    await a.knex('events').insert({ ...toRow(e, 0, position), hash: '0xnot-a-hash' });
    await a.knex('event_log_head').where({ id: 1 }).update({ next_position: position + 1 });
    await untilErrorCounted(a);
  });

  it("counts the anchorer's background errors (no AuditAnchor at ANCHOR_CONTRACT) in openmcp_errors_total", async () => {
    const a = await start({ OPENMCP_ROLES: 'anchorer', ANCHOR_CONTRACT: '0x000000000000000000000000000000000000dead' });
    await untilErrorCounted(a);
  });

  it('runs api, projector and sealer without the anchorer key, and serves the proof once the anchorer process, the only one holding the key, anchored it (was: every process with CHAIN_RPC_URL needed ANCHORER_PRIVATE_KEY)', async () => {
    // A contract of its own: batches of this log are anchored onto it, not onto the shared one.
    const provider = createRpcProvider(chain.rpcUrl);
    const contract = await deployAuditAnchor(new Wallet(chain.anchorerPrivateKey, provider)).finally(() => provider.destroy());
    const dir = mkdtempSync(join(tmpdir(), 'omc-wiring-shared-'));
    dirs.push(dir);
    // One admin key for both: a process generating its own would replace the stored one.
    const shared = { DATABASE_URL: `sqlite:${join(dir, 'shared.db')}`, ANCHOR_CONTRACT: contract.address, OPENMCP_ADMIN_KEY: 'omc_wiring_admin_key_0123456789abcdef' };
    const api = await start({ OPENMCP_ROLES: 'api,projector,sealer', ANCHORER_PRIVATE_KEY: '', ...shared });
    app = undefined; // closed below, with the anchorer process
    let anchorer: OpenMcp | undefined;
    try {
      expect(api.config.ANCHORER_PRIVATE_KEY).to.equal(undefined);
      const e = createEvent({ type: 'TaskSubmitted', stream: `task-${newId()}`, tenant: 'acme', actor: { kind: 'system', id: 'test' }, data: { steps: [] } });
      await api.store.append(e.stream, [e], { expectedRevision: 'no_stream' });
      const proof = () => api.app.inject({ url: `/v1/events/${e.id}/proof`, headers: { authorization: `Bearer ${shared.OPENMCP_ADMIN_KEY}` } });
      const until = async (what: string, ok: (res: Awaited<ReturnType<typeof proof>>) => boolean) => {
        for (const end = Date.now() + 30_000; ; ) {
          const res = await proof();
          if (ok(res)) return res;
          if (Date.now() > end) throw new Error(`${what}: last answer ${res.statusCode} ${res.body}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      // Sealed by this process, not anchored: nobody runs the anchorer yet.
      const pending = await until('sealed', (res) => res.statusCode === 409 && /not anchored/.test(res.json().detail ?? res.json().message ?? ''));
      expect(pending.json().code).to.equal('PROOF_PENDING');
      expect(pending.headers['retry-after']).to.equal('1');
      const ready = (await api.app.inject({ url: '/readyz' })).json() as { dependencies: { name: string; state: string; detail?: string }[] };
      expect(ready.dependencies.find((d) => d.detail?.includes(`AuditAnchor at ${contract.address}`))?.state).to.equal('up');

      // Its key from a keystore: decrypted once, before the start makes anything, and handed to the anchorer.
      const keystore = join(dir, 'anchorer.json');
      writeFileSync(keystore, encryptKeystoreJsonSync({ address: computeAddress(chain.anchorerPrivateKey), privateKey: chain.anchorerPrivateKey }, 'right horse', { scrypt: { N: 1024 } }));
      anchorer = await start({ OPENMCP_ROLES: 'anchorer', ANCHORER_PRIVATE_KEY: '', ANCHORER_KEYSTORE: keystore, ANCHORER_KEYSTORE_PASSWORD: 'right horse', ...shared });
      app = undefined;
      const served = await until('anchored', (res) => res.statusCode === 200);
      expect(served.json().event.id).to.equal(e.id);
      expect(served.json().anchor.contract).to.equal(contract.address);
    } finally {
      await anchorer?.close();
      await api.close();
    }
  });

  it('refuses to start the anchorer role against CHAIN_RPC_URL without its key: CONFIG_INVALID naming ANCHORER_PRIVATE_KEY', async () => {
    for (const roles of ['anchorer', 'api,anchorer', 'all']) {
      const err = await start({ OPENMCP_ROLES: roles, ANCHORER_PRIVATE_KEY: '' }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, roles).to.have.property('code', 'CONFIG_INVALID');
      expect((err as { details?: { variable?: string } }).details?.variable, roles).to.equal('ANCHORER_PRIVATE_KEY');
      expect((err as Error).message, roles).to.equal('Invalid configuration: the anchorer role with CHAIN_RPC_URL needs ANCHORER_PRIVATE_KEY or ANCHORER_KEYSTORE (the key that signs anchor transactions; processes without the anchorer role need neither)');
    }
  });

  it('keeps the sealer and anchorer leases in MySQL, not Redis, when both are configured', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    await requireService(this, 'Redis', redisAvailable);
    const db = await createTestDatabase('omc_wiring');
    const redis = redisTestPrefix('omc_wiring');
    const r = new Redis(REDIS_TEST_URL, { maxRetriesPerRequest: 1 });
    try {
      const a = await start({ OPENMCP_ROLES: 'sealer,anchorer', DATABASE_URL: db.url, REDIS_URL: REDIS_TEST_URL, REDIS_KEY_PREFIX: redis.prefix });
      const end = Date.now() + 30_000;
      let rows: { name: string; holder: string | null; token: number }[] = [];
      let readiness: { name: string; detail?: string }[] = [];
      const knex = await openKnex(db.url);
      try {
        // The lease row is written before the process learns its acquire succeeded: wait for both
        // (reading /readyz once the rows showed a holder was a race that failed now and then).
        while (Date.now() < end) {
          rows = await knex('leases').select('name', 'holder', 'token');
          readiness = ((await a.app.inject({ url: '/readyz' })).json() as { dependencies: { name: string; detail?: string }[] }).dependencies;
          if (['sealer', 'anchorer'].every((n) => rows.some((x) => x.name.includes(n) && x.holder)) && /^leader/.test(readiness.find((d) => d.name === 'sealer')?.detail ?? '')) break;
          await new Promise((res) => setTimeout(res, 200));
        }
      } finally {
        await knex.destroy();
      }
      expect(rows.filter((x) => x.holder).map((x) => x.name).sort().join(',')).to.match(/anchorer.*sealer/);
      expect(readiness.find((d) => d.name === 'sealer')?.detail).to.match(/^leader/);
      const keys = await r.keys(`${redis.prefix}*`);
      expect(keys.filter((k) => /lease|sealer|anchorer/.test(k)), 'no lease in Redis').to.deep.equal([]);
    } finally {
      r.disconnect();
      await app?.close();
      app = undefined;
      await redis.drop();
      await db.drop();
    }
  });

  it('hands HOST and MCP_ALLOWED_ORIGINS to /mcp: on loopback a foreign Host or Origin is refused 403 before the key, a listed origin passes', async () => {
    const a = await start({ OPENMCP_ROLES: 'gateway', MCP_ALLOWED_ORIGINS: 'https://app.example.com' });
    const auth = `Bearer ${a.generatedAdminKey}`;
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'wiring', version: '1' } } };
    const post = (headers: Record<string, string>) =>
      a.app.inject({ method: 'POST', url: '/mcp', headers: { authorization: auth, accept: 'application/json, text/event-stream', ...headers }, payload: initialize });
    const code = (res: { body: string }) => (JSON.parse(res.body) as { error?: { data?: { code?: string } } }).error?.data?.code;
    const rebound = await post({ host: 'evil.example:8080', origin: 'http://evil.example:8080' });
    expect([rebound.statusCode, code(rebound)]).to.deep.equal([403, 'MCP_HOST_FORBIDDEN']);
    const foreign = await post({ host: '127.0.0.1:8080', origin: 'https://evil.example' });
    expect([foreign.statusCode, code(foreign)]).to.deep.equal([403, 'MCP_ORIGIN_FORBIDDEN']);
    const listed = await post({ host: '127.0.0.1:8080', origin: 'https://app.example.com' });
    expect(listed.statusCode, listed.body).to.equal(200);
    const noKey = await a.app.inject({ method: 'POST', url: '/mcp', headers: { host: 'localhost:8080', accept: 'application/json, text/event-stream' }, payload: initialize });
    expect([noKey.statusCode, code(noKey)], 'no Origin, a loopback Host: on to the key check').to.deep.equal([401, 'UNAUTHENTICATED']);
  });

  it('counts REST, /mcp and /ui/api requests against one per-key limit while Redis is down (one limiter, one in-process fallback)', async function () {
    await requireService(this, 'Redis', redisAvailable);
    const target = new URL(REDIS_TEST_URL);
    const proxy = await cutProxy(target.hostname, Number(target.port || 6379));
    const redis = redisTestPrefix('omc_wiring_rl');
    try {
      const a = await start({ OPENMCP_ROLES: 'api,gateway', REDIS_URL: `redis://127.0.0.1:${proxy.port}`, REDIS_KEY_PREFIX: redis.prefix, RATE_LIMIT_PER_KEY: '3' });
      const auth = `Bearer ${a.generatedAdminKey}`;
      const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'wiring', version: '1' } } };
      const surfaces = {
        rest: () => a.app.inject({ method: 'GET', url: '/v1/tasks', headers: { authorization: auth } }),
        mcp: () => a.app.inject({ method: 'POST', url: '/mcp', headers: { authorization: auth, accept: 'application/json, text/event-stream' }, payload: initialize }),
        ui: () => a.app.inject({ method: 'GET', url: '/ui/api/config', headers: { authorization: auth } }),
      };
      // Redis gone: every limiter counts in its own process memory from now on. Once the client
      // knows (/readyz says so): a command sent just as the link was cut could still be counted in
      // Redis, which left the local count one short under load.
      await proxy.down();
      for (const until = Date.now() + 10_000; ; ) {
        const ready = (await a.app.inject({ url: '/readyz' })).json() as { dependencies: { name: string; state: string }[] };
        if (ready.dependencies.some((d) => d.name.startsWith('cache') && d.state !== 'up')) break;
        if (Date.now() > until) throw new Error(`/readyz still says the cache is up: ${JSON.stringify(ready)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Each passes authentication and the limit (/mcp then finds its session directory, in Redis, unavailable: 503).
      for (const [name, call] of Object.entries(surfaces)) {
        const res = await call();
        expect(res.statusCode, `${name}: ${res.body}`).to.equal(name === 'mcp' ? 503 : 200);
      }
      // Three requests made, one of each: the limit of 3 is reached for all of them, not per surface.
      for (const [name, call] of Object.entries(surfaces)) {
        const res = await call();
        expect(res.statusCode, `${name}: ${res.body}`).to.equal(429);
        expect(res.body, name).to.include('RATE_LIMITED');
      }
    } finally {
      await app?.close();
      app = undefined;
      await proxy.close();
      await redis.drop();
    }
  });

  it("hands MCP_EGRESS_ALLOWED_HOSTS and MCP_EGRESS_DENIED_NETWORKS to POST /v1/mcp-servers (403 body.url naming each) and to the gateway's connections (a tenant's server down, the reason naming the setting)", async () => {
    const a = await start({ OPENMCP_ROLES: 'api', MCP_EGRESS_ALLOWED_HOSTS: '*.allowed.invalid,203.0.113.9', MCP_EGRESS_DENIED_NETWORKS: '203.0.113.0/24' });
    const key = await a.app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${a.generatedAdminKey}` }, payload: { role: 'admin', tenant: 'acme' } });
    const auth = `Bearer ${key.json().key as string}`;
    const register = (url: string) => a.app.inject({ method: 'POST', url: '/v1/mcp-servers', headers: { authorization: auth }, payload: { name: 'probe', transport: 'http', url } });
    for (const [url, setting] of [['https://mcp.other.invalid/mcp', 'MCP_EGRESS_ALLOWED_HOSTS'], ['http://203.0.113.9/mcp', 'MCP_EGRESS_DENIED_NETWORKS']]) {
      const res = await register(url);
      expect([res.statusCode, res.json().field], url).to.deep.equal([403, 'body.url']);
      expect(res.json().detail, url).to.include(setting);
    }
    const held = await a.gateway!.registerServer({ tenant: 'acme', actor: { kind: 'user', id: 'wiring' }, name: 'held', transport: 'http', url: 'http://203.0.113.9/mcp', egress: 'public' });
    expect(held.healthReason).to.include('MCP_EGRESS_DENIED_NETWORKS');
  });

  it('hands MAX_API_KEYS_PER_TENANT to POST /v1/keys (409 API_KEY_LIMIT past it); the bootstrap admin key is not counted', async () => {
    const a = await start({ OPENMCP_ROLES: 'api', MAX_API_KEYS_PER_TENANT: '1' });
    const create = (tenant: string) =>
      a.app.inject({ method: 'POST', url: '/v1/keys', headers: { authorization: `Bearer ${a.generatedAdminKey}` }, payload: { role: 'viewer', tenant } });
    for (const tenant of ['acme', 'default']) {
      expect((await create(tenant)).statusCode, tenant).to.equal(201);
      const refused = await create(tenant);
      expect([refused.statusCode, refused.json().code], tenant).to.deep.equal([409, 'API_KEY_LIMIT']);
    }
  });

  it('makes a new DATA_DIR private (0700): it holds admin.key and, embedded, the whole log', async () => {
    const a = await start({ OPENMCP_ROLES: 'api' });
    expect(statSync(a.config.dataDir).mode & 0o777).to.equal(0o700);
    expect(statSync(join(a.config.dataDir, 'admin.key')).mode & 0o777).to.equal(0o600);
  });

  it('hands CHAIN_ID to the chain line of /readyz: degraded naming both ids when CHAIN_RPC_URL serves another chain (was: up, while the anchorer refused every round)', async () => {
    const a = await start({ OPENMCP_ROLES: 'api', CHAIN_ID: '1' });
    const ready = (await a.app.inject({ url: '/readyz' })).json() as { dependencies: { name: string; state: string; detail?: string }[] };
    const line = ready.dependencies.find((d) => d.name === 'chain');
    expect(line?.state).to.equal('degraded');
    expect(line?.detail).to.match(/^CHAIN_ID is 1 but CHAIN_RPC_URL serves chain 31337: nothing is anchored there; /);
  });

  it('prints the addresses an operator publishes for auditors: AuditAnchor and the sealer', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-wiring-'));
    dirs.push(dir);
    const lines: string[] = [];
    const config = loadConfig({
      DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      OPENMCP_EXAMPLES: 'off',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      CHAIN_RPC_URL: chain.rpcUrl,
      ANCHOR_CONTRACT: chain.contractAddress,
      ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey,
      SEALER_PRIVATE_KEY: SEALER_KEY,
    });
    app = await startOpenMcp(config, { print: (l) => lines.push(l) });
    expect(lines.join('\n')).to.include(`AuditAnchor ${chain.contractAddress}`);
    expect(lines.join('\n')).to.include(`Sealer ${computeAddress(SEALER_KEY).toLowerCase()}`);
  });

  it("prints CHAIN_RPC_URL with a provider's key in its path or query masked, as logs and messages have it (the start line put it in clear in the container's log)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-wiring-'));
    dirs.push(dir);
    const lines: string[] = [];
    // A provider's URL shape (Infura's key in the path, others' in the query); the test node answers on any path.
    const pathKey = '0123456789abcdef0123456789abcdef';
    const config = loadConfig({
      DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      OPENMCP_EXAMPLES: 'off',
      OPENMCP_ROLES: 'relay',
      HOST: '127.0.0.1',
      PORT: String(await freePort()),
      CHAIN_RPC_URL: `${chain.rpcUrl}/v3/${pathKey}?apikey=Sekr3tQueryKey`,
      ANCHOR_CONTRACT: chain.contractAddress,
    });
    app = await startOpenMcp(config, { print: (l) => lines.push(l) });
    const printed = lines.join('\n');
    expect(printed).to.include(`AuditAnchor ${chain.contractAddress} on ${chain.rpcUrl}/v3/***?apikey=***`);
    expect(printed).to.not.include(pathKey);
    expect(printed).to.not.include('Sekr3tQueryKey');
  });

  it("beats the dashboard's live stream at UI_HEARTBEAT_MS (was: always 15 s)", async () => {
    const port = await freePort();
    const a = await start({ OPENMCP_ROLES: 'api', HOST: '127.0.0.1', PORT: String(port), UI_HEARTBEAT_MS: '1000' }, { listen: true });
    // node:http without keep-alive: the socket goes with the stream, so app.close() does not wait on an idle one.
    let timer: NodeJS.Timeout | undefined;
    const waited = await new Promise<number>((resolve, reject) => {
      const t0 = Date.now();
      const req = get({ host: '127.0.0.1', port, path: '/ui/api/stream', agent: false, headers: { authorization: `Bearer ${a.generatedAdminKey}` } }, (res) => {
        if (res.statusCode !== 200) return reject(new Error(`stream: ${res.statusCode}`));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (!chunk.includes(': keep-alive')) return;
          resolve(Date.now() - t0);
          req.destroy();
        });
      });
      req.on('error', reject);
      timer = setTimeout(() => (req.destroy(), reject(new Error('no heartbeat within 7.5 s'))), 7_500);
    }).finally(() => clearTimeout(timer));
    // Half the default: the default would not beat this soon, whatever the load.
    expect(waited).to.be.below(7_500);
  });

  it("keeps server-sent event streams (GET /mcp, /ui/api/stream) out of the HTTP latency histogram once open: their lifetime is the client's session, and it read as a 5 s+ request in every p99", async () => {
    const port = await freePort();
    const a = await start({ OPENMCP_ROLES: 'api,gateway', HOST: '127.0.0.1', PORT: String(port), UI_HEARTBEAT_MS: '1000' }, { listen: true });
    const base = `http://127.0.0.1:${port}`;
    const admin = { authorization: `Bearer ${a.generatedAdminKey}` };
    const mcp = { ...admin, accept: 'application/json, text/event-stream', 'content-type': 'application/json', 'mcp-protocol-version': '2025-06-18' };
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'wiring', version: '1' } } };
    const init = await fetch(`${base}/mcp`, { method: 'POST', headers: mcp, body: JSON.stringify(initialize) });
    expect(init.status).to.equal(200);
    await init.text();
    const session = { ...mcp, 'mcp-session-id': init.headers.get('mcp-session-id')! };
    // The MCP client's GET stream, ended by the server when the session ends (DELETE).
    const get = await fetch(`${base}/mcp`, { headers: { ...session, accept: 'text/event-stream' } });
    expect(get.status).to.equal(200);
    expect((await fetch(`${base}/mcp`, { method: 'DELETE', headers: session })).status).to.equal(200);
    await get.text();
    // The dashboard's live stream, ended by the server at the heartbeat after its key is revoked.
    const created = await fetch(`${base}/v1/keys`, { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify({ role: 'viewer', tenant: 'acme' }) });
    const key = (await created.json()) as { id: string; key: string };
    const ui = await fetch(`${base}/ui/api/stream`, { headers: { authorization: `Bearer ${key.key}` } });
    expect(ui.status).to.equal(200);
    expect((await fetch(`${base}/v1/keys/${key.id}`, { method: 'DELETE', headers: admin })).status).to.equal(204);
    await ui.text();
    const text = (await a.app.inject({ url: '/metrics' })).body;
    const series = text.split('\n').filter((l) => l.startsWith('openmcp_http_request_duration_seconds_count'));
    expect(series.filter((l) => /method="GET",route="\/mcp",status="200"|route="\/ui\/api\/stream",status="200"/.test(l)), 'open streams observed').to.deep.equal([]);
    // The requests around them are observed as ever.
    expect(series.some((l) => /method="DELETE",route="\/mcp",status="200"/.test(l))).to.equal(true);
    expect(series.some((l) => /method="POST",route="\/v1\/keys",status="201"/.test(l))).to.equal(true);
  });

  it("checks Kafka in /readyz and openmcp_dependency_up: bus (kafka) is degraded while no broker answers, up once one does (it said up whatever Kafka did)", async () => {
    const port = await freePort();
    const a = await start({ OPENMCP_ROLES: 'api', KAFKA_BROKERS: `127.0.0.1:${port}` });
    const bus = async () => {
      const ready = await a.app.inject({ url: '/readyz' });
      const line = (ready.json() as { dependencies: { name: string; state: string; detail?: string }[] }).dependencies.find((d) => d.name === 'bus (kafka)');
      const gauge = /^openmcp_dependency_up\{dependency="bus \(kafka\)"\} (\S+)$/m.exec((await a.app.inject({ url: '/metrics' })).body)?.[1];
      return { status: ready.statusCode, state: line?.state, detail: line?.detail, gauge };
    };
    const down = await bus();
    // Degraded, not down: REST and /mcp answer without Kafka, so a 503 would take every replica out of its load balancer.
    expect(down).to.deep.include({ status: 200, state: 'degraded', gauge: '0.5' });
    expect(down.detail).to.match(/projectors wait/);
    const broker = await startKafkaBroker({ port });
    try {
      const end = Date.now() + 30_000;
      let now = await bus();
      while (now.state !== 'up' && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 250));
        now = await bus();
      }
      expect(now).to.deep.include({ status: 200, state: 'up', gauge: '1' });
    } finally {
      await app?.close();
      app = undefined;
      await broker.stop();
    }
  });

  it('says in /readyz why tool search is lexical, once (it said "lexical only: … lexical (BM25) search only"), and in the log at start (it said nothing there)', async () => {
    const lines: string[] = [];
    const a = await start({ OPENMCP_ROLES: 'api', LOG_LEVEL: 'info' }, { logStream: { write: (l: string) => void lines.push(l) } });
    const res = await a.app.inject({ url: '/readyz' });
    const search = (res.json() as { dependencies: { name: string; detail?: string }[] }).dependencies.find((d) => d.name === 'tool search');
    expect(search?.detail).to.equal('lexical only (BM25): EMBEDDING_MODEL_DIR is not set');
    const said = lines.map((l) => JSON.parse(l) as { msg: string }).filter((l) => l.msg.startsWith('tool search:'));
    expect(said.map((l) => l.msg)).to.deep.equal(['tool search: lexical only (BM25): EMBEDDING_MODEL_DIR is not set']);
  });

  it("has a /readyz line for the servers this replica cannot reach for a variable of its own environment (up with none)", async () => {
    const a = await start({ OPENMCP_ROLES: 'api' });
    const deps = (await a.app.inject({ url: '/readyz' })).json() as { dependencies: { name: string; state: string }[] };
    expect(deps.dependencies.find((d) => d.name === OWN_VARIABLES_CHECK_NAME)).to.deep.include({ state: 'up' });
    const metrics = (await a.app.inject({ url: '/metrics' })).body;
    expect(metrics).to.include(`openmcp_dependency_up{dependency="${OWN_VARIABLES_CHECK_NAME}"} 1`);
  });

  it("names in its listening line only what the process serves (a projector's named a dashboard and /mcp that answered it 404)", async () => {
    const lines: Record<string, string> = {};
    for (const roles of ['projector', 'relay,sealer', 'api', 'gateway', 'api,gateway,agent']) {
      const port = await freePort();
      let listening = '';
      const a = await start({ OPENMCP_ROLES: roles, HOST: '127.0.0.1', PORT: String(port) }, { listen: true, print: (l) => void (l.includes('listening on') && (listening = l)) });
      lines[roles] = listening.replaceAll(a.url, 'URL');
      for (const [path, shown] of [['/ui', roles.includes('api')], ['/mcp', roles.includes('gateway')]] as const) {
        const status = (await fetch(`${a.url}${path}`, { method: path === '/mcp' ? 'POST' : 'GET' })).status;
        expect(status === 404, `${roles} ${path} answers ${status}`).to.equal(!shown);
      }
      await a.close();
      app = undefined;
    }
    expect(lines).to.deep.equal({
      projector: 'OpenMCP-Chain listening on URL (projector: health URL/readyz, metrics URL/metrics)',
      'relay,sealer': 'OpenMCP-Chain listening on URL (relay, sealer: health URL/readyz, metrics URL/metrics)',
      api: 'OpenMCP-Chain listening on URL (dashboard: URL/ui, OpenAPI JSON: URL/docs)',
      gateway: 'OpenMCP-Chain listening on URL (MCP: URL/mcp)',
      'api,gateway,agent': 'OpenMCP-Chain listening on URL (dashboard: URL/ui, OpenAPI JSON: URL/docs, MCP: URL/mcp)',
    });
  });

  it('a PORT already in use: CONFIG_INVALID naming PORT, not a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-wiring-'));
    dirs.push(dir);
    const port = await freePort();
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    try {
      const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', HOST: '127.0.0.1', PORT: String(port), CHAIN_RPC_URL: chain.rpcUrl, ANCHOR_CONTRACT: chain.contractAddress, ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey });
      const err = await startOpenMcp(config, { print: () => {} }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.have.property('code', 'CONFIG_INVALID');
      expect((err as Error).message).to.equal(`PORT: 127.0.0.1:${port} is already in use: set PORT (or HOST) to a free address`);
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  it('a HOST that is not an address of this machine: CONFIG_INVALID naming HOST (was "openmcp: ENOTFOUND: getaddrinfo ENOTFOUND …")', async () => {
    for (const host of ['203.0.113.7', 'no-such-host.invalid']) {
      const dir = mkdtempSync(join(tmpdir(), 'omc-wiring-'));
      dirs.push(dir);
      const config = loadConfig({ DATA_DIR: dir, LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', HOST: host, PORT: String(await freePort()), CHAIN_RPC_URL: chain.rpcUrl, ANCHOR_CONTRACT: chain.contractAddress, ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey });
      const err = await startOpenMcp(config, { print: () => {} }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, host).to.have.property('code', 'CONFIG_INVALID');
      expect((err as Error).message, host).to.match(new RegExp(`^HOST: ${host.replace(/\./g, '\\.')} is not an address of this machine \\((EADDRNOTAVAIL|ENOTFOUND|EAI_AGAIN)\\): set HOST`));
    }
  });

  it('names the LLM endpoint in /readyz without its credentials, degraded while nothing answers there (it said "up")', async () => {
    const a = await start({ OPENMCP_ROLES: 'api', OPENAI_BASE_URL: 'http://llm-user:s3cret-pass@127.0.0.1:9/v1?api_key=sk-live-123' });
    const res = await a.app.inject({ url: '/readyz' });
    expect(res.statusCode, 'a process serves without its LLM').to.equal(200);
    expect(res.body).to.not.match(/s3cret|sk-live|llm-user/);
    const llm = (res.json() as { dependencies: { name: string; state: string; detail?: string }[] }).dependencies.find((d) => d.name === 'llm');
    expect(llm?.detail).to.contain('127.0.0.1:9');
    expect(llm?.state).to.equal('degraded');
    // Port 9 is one fetch refuses outright ("bad port"): nothing answers there either way.
    expect(llm?.detail).to.match(/^cannot reach http:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:9\/v1\?api_key=\*\*\*: .+; tasks with an instruction fail LLM_UNAVAILABLE/);
  });

  it("has an llm line in /readyz only where the LLM setting matters (api: accepts instruction tasks; agent: calls the model): a relay's or sealer's said degraded \"OPENAI_BASE_URL is not set\", and held the dashboard's llm at 0.5 however the agents' LLM did", async () => {
    const names = async (roles: string) => {
      const a = await start({ OPENMCP_ROLES: roles });
      try {
        return ((await a.app.inject({ url: '/readyz' })).json() as { dependencies: { name: string }[] }).dependencies.map((d) => d.name);
      } finally {
        await a.close();
        app = undefined;
      }
    };
    expect(await names('sealer,anchorer')).to.not.include('llm');
    expect(await names('projector')).to.not.include('llm');
    expect(await names('api')).to.include('llm');
  });

  it('a KAFKA_SESSION_TIMEOUT_MS the brokers refuse: warned at start below their default minimum, and the projector\'s stopped consumer said as CONFIG_INVALID naming it, counted (was: one kafkajs line naming broker settings, the projector idle)', async () => {
    const broker = await startKafkaBroker({ groupSessionTimeoutMs: { min: 6000, max: 1_800_000 } });
    try {
      const lines: string[] = [];
      const a = await start(
        { OPENMCP_ROLES: 'projector', LOG_LEVEL: 'warn', KAFKA_BROKERS: broker.brokers.join(','), KAFKA_TOPIC_PREFIX: 'wiring-session', KAFKA_SESSION_TIMEOUT_MS: '3000' },
        { logStream: { write: (l: string) => void lines.push(l) } },
      );
      expect(await untilErrorCounted(a)).to.have.property('CONFIG_INVALID').that.is.greaterThan(0);
      const said = lines.map((l) => JSON.parse(l) as { level: number; msg: string; err?: { code?: string } });
      const warned = said.find((l) => l.level === 40 && l.msg.includes('KAFKA_SESSION_TIMEOUT_MS'));
      expect(warned?.msg, 'warned at start').to.match(/KAFKA_SESSION_TIMEOUT_MS=3000 is below .*group\.min\.session\.timeout\.ms/);
      const stopped = said.find((l) => l.level === 50 && l.err?.code === 'CONFIG_INVALID');
      expect(stopped?.msg, 'the consumer stopped').to.match(/^the brokers refuse KAFKA_SESSION_TIMEOUT_MS=3000: .*group\.min\.session\.timeout\.ms/);
      // Not restarted (it would be refused again): degraded, naming the group and the setting; /readyz stays 200, as while Kafka itself
      // is unreachable (`bus (kafka)`), also in a projector-only process: 503 is for the event store, the database and a drain.
      const ready = await a.app.inject({ url: '/readyz' });
      const line = (ready.json() as { dependencies: { name: string; state: string; detail?: string }[] }).dependencies.find((d) => d.name === 'kafka consumer (openmcp-projector)');
      expect(ready.statusCode, ready.body).to.equal(200);
      expect(line?.state).to.equal('degraded');
      expect(line?.detail).to.match(/^group openmcp-projector stopped since .*: CONFIG_INVALID: the brokers refuse KAFKA_SESSION_TIMEOUT_MS=3000.*; not restarted: /);
      expect((await a.app.inject({ url: '/metrics' })).body).to.match(/^openmcp_kafka_consumers_stopped\{group="openmcp-projector"\} 1$/m);
    } finally {
      await app?.close();
      app = undefined;
      await broker.stop();
    }
  });

  it("a projector whose consumer kafkajs stops on an error it does not retry (its group's ACL missing): restarted by itself, /readyz and openmcp_kafka_consumers_stopped say so meanwhile, ready again once it consumes (was: \"restart the process\" in the log, /readyz ready, the read models idle)", async () => {
    const broker = await startKafkaBroker();
    const group = 'wiring-acl-projector';
    broker.refuseGroup(group, 30);
    try {
      const lines: string[] = [];
      const a = await start(
        { OPENMCP_ROLES: 'projector', LOG_LEVEL: 'info', KAFKA_BROKERS: broker.brokers.join(','), KAFKA_TOPIC_PREFIX: 'wiring-acl', KAFKA_CONSUMER_GROUP: group },
        { logStream: { write: (l: string) => void lines.push(l) } },
      );
      const said = () => lines.map((l) => JSON.parse(l) as { level: number; msg: string; group?: string });
      const readiness = async () => {
        const res = await a.app.inject({ url: '/readyz' });
        return { status: res.statusCode, line: (res.json() as { dependencies: { name: string; state: string; detail?: string }[] }).dependencies.find((d) => d.name === `kafka consumer (${group})`) };
      };
      const until = async (check: () => Promise<boolean> | boolean, what: string) => {
        const end = Date.now() + 45_000;
        while (!(await check())) {
          if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      };
      await until(() => said().some((l) => l.level === 50 && l.group === group), 'the stopped consumer to be logged');
      const stop = said().find((l) => l.level === 50 && l.group === group)!;
      expect(stop.msg).to.match(new RegExp(`^the Kafka consumer of group ${group} stopped on an error kafkajs does not retry: GROUP_AUTHORIZATION_FAILED: .*; restarting it in \\d+ s \\(restart 1\\)`));
      expect(await errorsCounted(a)).to.have.property('KAFKA_CONSUMER_STOPPED').that.is.greaterThan(0);
      const down = await readiness();
      expect(down.status).to.equal(200);
      expect(down.line?.state).to.equal('degraded');
      expect(down.line?.detail).to.match(new RegExp(`^group ${group} stopped since .*: GROUP_AUTHORIZATION_FAILED: .*; restarting in \\d+ s \\(restart \\d+\\)`));
      expect((await a.app.inject({ url: '/metrics' })).body).to.match(new RegExp(`^openmcp_kafka_consumers_stopped\\{group="${group}"\\} 1$`, 'm'));

      broker.refuseGroup(group, 0);
      await until(async () => (await readiness()).line?.state === 'up', 'the restarted consumer to be ready');
      expect((await readiness()).status).to.equal(200);
      expect((await a.app.inject({ url: '/metrics' })).body).to.match(new RegExp(`^openmcp_kafka_consumers_stopped\\{group="${group}"\\} 0$`, 'm'));
      expect(said().some((l) => l.level === 30 && l.msg.startsWith(`the Kafka consumer of group ${group} consumes again`)), 'the restart that worked is logged').to.equal(true);
    } finally {
      await app?.close();
      app = undefined;
      await broker.stop();
    }
  });

  it("with Kafka, the projector joins its group with KAFKA_SESSION_TIMEOUT_MS, and the projection lag counts a partition held up by an event it cannot apply, though another partition applied a newer position", async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    const broker = await startKafkaBroker();
    const db = await createTestDatabase('omc_wiring');
    const knex = await openKnex(db.url);
    try {
      broker.createTopic('wiring-lag.events.v1', 2);
      const a = await start({ OPENMCP_ROLES: 'projector', DATABASE_URL: db.url, KAFKA_BROKERS: broker.brokers.join(','), KAFKA_TOPIC_PREFIX: 'wiring-lag', KAFKA_CONSUMER_GROUP: 'wiring-lag-projector', KAFKA_SESSION_TIMEOUT_MS: '45000' });
      // The projector joined its group with the configured session (kafkajs' own is 30 s; longer
      // here, so a member starved of CPU is not dropped, which the rejoin count below would show).
      expect(broker.sessionTimeouts('wiring-lag-projector')).to.deep.equal([45000]);
      // As another producer could have written them: an agent id longer than rm_tasks.agent_id
      // (MariaDB refuses it) in partition 0, a task it can apply, at a later position, in partition 1.
      const task = (position: number, agentId: string) => {
        const stream = `task-${newId()}`;
        return { ...createEvent({ type: 'TaskSubmitted', stream, tenant: 'acme', actor: { kind: 'system', id: 't' }, data: { steps: [], agentId } }), revision: 0, position };
      };
      const producer = new Kafka({ brokers: broker.brokers, logLevel: logLevel.NOTHING }).producer();
      await producer.connect();
      await producer.send({ topic: 'wiring-lag.events.v1', messages: [{ ...toKafkaMessage(task(1000, 'x'.repeat(300))), partition: 0 }] });
      await producer.send({ topic: 'wiring-lag.events.v1', messages: [{ ...toKafkaMessage(task(1001, 'agent-1')), partition: 1 }] });
      await producer.disconnect();
      const end = Date.now() + 45_000;
      while (!(await knex('rm_audit_events').where('position', 1001).first()) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
      let lag = NaN;
      while (Date.now() < end) {
        const text = (await a.app.inject({ url: '/metrics' })).body;
        lag = Number(/^openmcp_projection_lag_events\{projection="tasks"\} (\S+)$/m.exec(text)?.[1]);
        if (lag >= 1) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(lag, 'the event held up in partition 0').to.equal(1);
      // Each redelivery fails again and is counted, by the same member: the group never rejoins.
      const joins = broker.requests(11);
      let failed = 0;
      while (failed < 3 && Date.now() < end) {
        failed = (await errorsCounted(a)).PROJECTION_FAILED ?? 0;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(failed, 'PROJECTION_FAILED counted per attempt').to.be.at.least(3);
      expect(broker.requests(11) - joins, 'JoinGroup requests while retrying').to.equal(0);
    } finally {
      await app?.close();
      app = undefined;
      await knex.destroy();
      await db.drop();
      await broker.stop();
    }
  });
});
