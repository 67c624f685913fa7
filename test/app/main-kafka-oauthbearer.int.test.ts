import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../src/config';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { kafkaTestTls, kafkaTlsFile, startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { startTokenEndpoint, type TokenEndpoint } from '../support/oauth-token-endpoint';

type Dependency = { name: string; state: string; detail?: string };

describe('src/main.ts wiring: Kafka SASL OAUTHBEARER (KAFKA_SASL_OAUTHBEARER_*)', function () {
  this.timeout(120_000);
  let broker: KafkaBroker;
  let endpoint: TokenEndpoint;
  const dirs: string[] = [];
  let app: OpenMcp | undefined;
  let lines: string[] = [];

  before(async () => {
    endpoint = await startTokenEndpoint({ clients: { gateway: 'gateway-client-secret' } });
    broker = await startKafkaBroker({ tls: kafkaTestTls(), sasl: { mechanisms: ['OAUTHBEARER'], users: {}, verifyToken: (t) => endpoint.verify(t) } });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });
  after(async () => {
    await broker?.stop();
    await endpoint?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** `openmcp start` in this process with `env`, on a fresh DATA_DIR, its log (debug: kafkajs's lines too) kept in `lines`. */
  async function start(env: Record<string, string>): Promise<OpenMcp> {
    const dir = mkdtempSync(join(tmpdir(), 'omc-kafka-oauth-'));
    dirs.push(dir);
    lines = [];
    const logStream = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk)), done()) });
    const chain = { CHAIN_RPC_URL: 'http://127.0.0.1:9', ANCHOR_CONTRACT: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };
    const config = loadConfig({ DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'debug', OPENMCP_EXAMPLES: 'off', KAFKA_BROKERS: broker.brokers.join(','), ...chain, ...env });
    app = await startOpenMcp(config, { listen: false, print: () => {}, logStream });
    return app;
  }

  const settings = (secret: string) => ({
    KAFKA_SSL_CA_FILE: kafkaTlsFile('ca.pem'),
    KAFKA_SASL_MECHANISM: 'oauthbearer',
    KAFKA_SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: endpoint.url,
    KAFKA_SASL_OAUTHBEARER_CLIENT_ID: 'gateway',
    KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET: secret,
  });

  async function dependencies(a: OpenMcp): Promise<Dependency[]> {
    return ((await a.app.inject({ url: '/readyz' })).json() as { dependencies: Dependency[] }).dependencies;
  }

  it("the relay, the projector's consumer and the /readyz check connect with OAUTHBEARER, all on one token of the process; neither the secret nor the token logged", async () => {
    const issued = endpoint.issued.length;
    const authentications = broker.requests(36);
    const a = await start({ OPENMCP_ROLES: 'relay,projector', KAFKA_TOPIC_PREFIX: 'oauthwired', ...settings('gateway-client-secret') });
    const end = Date.now() + 60_000;
    const ready = (d: Dependency[]) => ['bus (kafka)', 'relay (oauthwired.events.v1)'].every((n) => d.find((x) => x.name === n)?.state === 'up') && /leader/.test(d.find((x) => x.name === 'relay (oauthwired.events.v1)')?.detail ?? '');
    let deps = await dependencies(a);
    while (!ready(deps) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      deps = await dependencies(a);
    }
    expect(deps.filter((d) => /kafka|relay/.test(d.name)), JSON.stringify(deps)).to.satisfy(ready);
    expect(broker.requests(36) - authentications, 'SaslAuthenticate requests (the relay\'s, the consumer\'s, the probe\'s connections)').to.be.greaterThan(2);
    expect(endpoint.issued.length - issued, 'tokens the process asked for').to.equal(1);
    const token = endpoint.issued.at(-1)!.token;
    expect(lines.filter((l) => l.includes('gateway-client-secret') || l.includes(token)), 'log lines holding the secret or the token').to.deep.equal([]);
  });

  it('a wrong client secret: a projector does not start, saying DEPENDENCY_UNAVAILABLE and the endpoint\'s refusal; no log line holds the secret', async () => {
    const err = await start({ OPENMCP_ROLES: 'projector', KAFKA_TOPIC_PREFIX: 'oauthwrong', ...settings('wrong-client-secret') }).then(
      () => expect.fail('should not start'),
      (e: Error & { code?: string }) => e,
    );
    expect(err.code, err.stack).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.match(/^kafka: the OAuth token endpoint .* refused this client's credentials: 401 invalid_client: .*; check KAFKA_SASL_OAUTHBEARER_CLIENT_ID, KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET/);
    expect(lines.filter((l) => l.includes('wrong-client-secret')), 'log lines holding the secret').to.deep.equal([]);
  });

  it('a wrong client secret with the relay alone: the process starts, the relay retries, and its /readyz line says why', async () => {
    const a = await start({ OPENMCP_ROLES: 'relay', KAFKA_TOPIC_PREFIX: 'oauthrelay', ...settings('wrong-client-secret') });
    const end = Date.now() + 60_000;
    let line: Dependency | undefined;
    while (!/refused this client's credentials/.test(line?.detail ?? '') && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 250));
      line = (await dependencies(a)).find((d) => d.name === 'relay (oauthrelay.events.v1)');
    }
    expect(line?.state, JSON.stringify(line)).not.to.equal('up');
    expect(line?.detail).to.match(/refused this client's credentials: 401 invalid_client.*KAFKA_SASL_OAUTHBEARER_CLIENT_SECRET/);
    expect(lines.filter((l) => l.includes('wrong-client-secret')), 'log lines holding the secret').to.deep.equal([]);
  });
});
