import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { kafkaTestTls, kafkaTlsFile, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';

type Dependency = { name: string; state: string; detail?: string };

describe('src/main.ts wiring: Kafka over TLS and SASL (KAFKA_SSL*, KAFKA_SASL_*)', function () {
  this.timeout(120_000);
  let broker: KafkaBroker;
  const dirs: string[] = [];
  let app: OpenMcp | undefined;
  /** The process's log lines (LOG_LEVEL=debug, so kafkajs's own lines too). */
  let lines: string[] = [];

  before(async () => {
    broker = await startKafkaBroker({ tls: kafkaTestTls(), sasl: { mechanisms: ['SCRAM-SHA-512'], users: { gateway: 'gateway-secret' } } });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  after(async () => {
    await broker?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** `openmcp start` in this process (app.inject) with `env`, on a fresh DATA_DIR, its log kept in `lines`. */
  async function start(env: Record<string, string>): Promise<OpenMcp> {
    const dir = mkdtempSync(join(tmpdir(), 'omc-kafka-sec-'));
    dirs.push(dir);
    lines = [];
    const logStream = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) });
    // Roles other than all need a chain node named; these (relay, projector) never ask it.
    const chain = { CHAIN_RPC_URL: 'http://127.0.0.1:9', ANCHOR_CONTRACT: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };
    const config = loadConfig({ DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'debug', OPENMCP_EXAMPLES: 'off', KAFKA_BROKERS: broker.brokers.join(','), ...chain, ...env });
    app = await startOpenMcp(config, { listen: false, print: () => {}, logStream });
    return app;
  }

  const settings = (password: string) => ({ KAFKA_SSL_CA_FILE: kafkaTlsFile('ca.pem'), KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'gateway', KAFKA_SASL_PASSWORD: password });

  async function dependencies(a: OpenMcp): Promise<Dependency[]> {
    return ((await a.app.inject({ url: '/readyz' })).json() as { dependencies: Dependency[] }).dependencies;
  }

  it('the relay, the projector\'s consumer and the /readyz check all connect over TLS with SCRAM: the relay leads, the consumer joins, bus (kafka) is up', async () => {
    const joins = broker.requests(11);
    const a = await start({ OPENMCP_ROLES: 'relay,projector', KAFKA_TOPIC_PREFIX: 'wired', ...settings('gateway-secret') });
    const end = Date.now() + 60_000;
    let deps = await dependencies(a);
    const ready = (d: Dependency[]) => ['bus (kafka)', 'relay (wired.events.v1)'].every((n) => d.find((x) => x.name === n)?.state === 'up') && /leader/.test(d.find((x) => x.name === 'relay (wired.events.v1)')?.detail ?? '');
    while (!ready(deps) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      deps = await dependencies(a);
    }
    expect(deps.filter((d) => /kafka|relay/.test(d.name)), JSON.stringify(deps)).to.satisfy(ready);
    expect(broker.requests(11) - joins, 'JoinGroup requests: the projector\'s consumer joined').to.be.greaterThan(0);
    expect(broker.highWatermarks('wired.events.v1'), 'the topic the relay created').to.have.length.greaterThan(0);
    expect(lines.join('').includes('gateway-secret'), 'the password in a log line').to.equal(false);
  });

  it('a wrong password: a projector does not start, saying DEPENDENCY_UNAVAILABLE and which settings to check; no log line holds the password', async () => {
    const err = await start({ OPENMCP_ROLES: 'projector', KAFKA_TOPIC_PREFIX: 'wrongpw', ...settings('wrong-secret') }).then(
      () => expect.fail('should not start'),
      (e: Error & { code?: string }) => e,
    );
    expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/^kafka: the brokers at 127\.0\.0\.1:\d+ refused this client's SASL authentication: .*; check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD/);
    expect(lines.length, 'log lines').to.be.greaterThan(0);
    expect(lines.filter((l) => l.includes('wrong-secret')), 'log lines holding the password').to.deep.equal([]);
  });

  it("/readyz's bus (kafka) line says a refused password as such, naming KAFKA_SASL_* (degraded: REST and /mcp go on)", async () => {
    const a = await start({ OPENMCP_ROLES: 'api', ...settings('wrong-secret') });
    const line = (await dependencies(a)).find((d) => d.name === 'bus (kafka)');
    expect(line?.state).to.equal('degraded');
    expect(line?.detail).to.match(/refused this client's SASL authentication: .*; check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD/);
    expect(line?.detail).not.to.contain('wrong-secret');
  });
});
