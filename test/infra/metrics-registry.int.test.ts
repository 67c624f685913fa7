/**
 * infra/ and docs/operations.md against the registry the code really creates: the whole app
 * (src/main.ts, every role, the relay on Kafka) is started in-process and scraped, and every
 * openmcp_* series the alert rules, the dashboard panels and the operations guide name must be
 * there, of the type its use needs (rate() of a counter or a histogram's series, never of a gauge;
 * histogram_quantile() of a histogram's _bucket), with the labels used, and the values an alert or
 * panel selects must be values the code gives. A rule or panel on anything else is silent: it never
 * fires, or shows nothing. (test/infra/compose.unit.test.ts checks names and labels against a scan
 * of src/, without starting anything.)
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { freePort } from '../support/free-port';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { alertRules, panelExprs, seriesUses, targetLabels, usedLabels, usedMetrics } from './promql';

const ROOT = join(__dirname, '..', '..');

/** Hardhat account #3: a sealer key of its own. */
const SEALER_KEY = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6';

type Family = { type: string; series: Array<{ name: string; labels: Record<string, string> }> };

/** The exposition text as families: `# TYPE` of each, and each sample's series name and labels. */
function families(text: string): Map<string, Family> {
  const out = new Map<string, Family>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1], { type: m[2], series: [] });
  for (const line of text.split('\n')) {
    const m = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
    if (!m) continue;
    const family = out.get(m[1]) ?? out.get(m[1].replace(/_(bucket|count|sum)$/, ''));
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    family?.series.push({ name: m[1], labels });
  }
  return out;
}

describe('infra/ and docs/operations.md name only what /metrics of the running app serves, as it serves it', function () {
  this.timeout(120_000);
  let chainDir: string;
  let dataDir: string;
  let chain: LocalChain;
  let broker: KafkaBroker;
  let app: OpenMcp;
  let scraped: Map<string, Family>;

  before(async () => {
    chainDir = mkdtempSync(join(tmpdir(), 'omc-infra-chain-'));
    dataDir = mkdtempSync(join(tmpdir(), 'omc-infra-'));
    chain = await startLocalChain({ port: await freePort(), dataDir: chainDir });
    broker = await startKafkaBroker();
    const config = loadConfig({
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      CHAIN_RPC_URL: chain.rpcUrl,
      ANCHOR_CONTRACT: chain.contractAddress,
      ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey,
      SEALER_PRIVATE_KEY: SEALER_KEY,
      KAFKA_BROKERS: broker.brokers.join(','),
      KAFKA_TOPIC_PREFIX: 'infra-metrics',
    });
    app = await startOpenMcp(config, { listen: false, print: () => {} });
    // Some traffic, as a scrape in production finds it: probes, a task, a refused request.
    const auth = { authorization: `Bearer ${app.generatedAdminKey}` };
    for (const url of ['/healthz', '/readyz', '/metrics']) await app.app.inject({ url });
    expect((await app.app.inject({ method: 'POST', url: '/v1/tasks', headers: auth, payload: { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] } })).statusCode).to.equal(202);
    expect((await app.app.inject({ url: '/v1/tasks/not-an-id', headers: auth })).statusCode).to.equal(400);
    // The relay's lag gauge exists once it leads and has published (Kafka reached).
    const end = Date.now() + 60_000;
    for (;;) {
      scraped = families((await app.app.inject({ url: '/metrics' })).body);
      if (scraped.get('openmcp_relay_lag_events')?.series.length) break;
      expect(Date.now(), 'the relay leads and its lag gauge is served').to.be.below(end);
      await new Promise((r) => setTimeout(r, 250));
    }
  });
  after(async () => {
    await app?.close();
    await broker?.stop();
    await chain?.stop();
    for (const d of [chainDir, dataDir]) if (d) rmSync(d, { recursive: true, force: true });
  });

  const uses = () => [
    ...alertRules().map((r) => ({ where: `alert ${r.alert}`, expr: r.expr })),
    ...panelExprs().map((expr) => ({ where: 'dashboard panel', expr })),
  ];

  it('every openmcp_* metric of the alert rules, the dashboard and docs/operations.md is served', () => {
    const operations = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const named = usedMetrics([...uses().map((u) => u.expr), operations]);
    expect(named.length).to.be.greaterThan(8);
    expect(named.filter((m) => !scraped.has(m)), 'named but not on /metrics').to.deep.equal([]);
  });

  it('reads each series as its type allows: counters and histogram series only through rate()/increase(), gauges never, histogram_quantile() on _bucket', () => {
    for (const { where, expr } of uses()) {
      for (const u of seriesUses(expr)) {
        const base = u.series.replace(/_(bucket|count|sum)$/, '');
        const type = scraped.get(u.series)?.type ?? scraped.get(base)?.type;
        const what = `${where}: ${u.series} (${type}) in ${expr}`;
        if (u.series !== base && !scraped.has(u.series)) {
          expect(type, what).to.be.oneOf(u.series.endsWith('_bucket') ? ['histogram'] : ['histogram', 'summary']);
          expect(u.underRate, `${what}: a cumulative series read without rate()`).to.equal(true);
        } else if (type === 'counter') {
          expect(u.underRate, `${what}: a counter read without rate()`).to.equal(true);
        } else {
          expect(type, what).to.equal('gauge');
          expect(u.underRate, `${what}: rate() of a gauge`).to.equal(false);
        }
      }
      if (/histogram_quantile\(/.test(expr)) expect(expr, where).to.match(/histogram_quantile\([^,]+,[\s\S]*_bucket\b/);
    }
  });

  it('selects and groups only by labels the series have', () => {
    for (const { where, expr } of uses()) {
      const metrics = usedMetrics([expr]);
      const known = new Set([...targetLabels(), ...(/_bucket\b/.test(expr) ? ['le'] : [])]);
      for (const m of metrics) for (const s of scraped.get(m)?.series ?? []) for (const l of Object.keys(s.labels)) known.add(l);
      // A family with no sample yet (errors_total before any error) shows no labels: its help says them.
      if (metrics.includes('openmcp_errors_total')) known.add('code');
      if (metrics.includes('openmcp_metric_read_failures_total')) known.add('metric');
      expect(usedLabels(expr).filter((l) => !known.has(l)), `${where}: ${expr}`).to.deep.equal([]);
    }
  });

  it('selects only label values the code gives: error codes of docs/errors.md, and each alternative of a dependency, route or other matcher on a served series', () => {
    const catalogue = new Set([...readFileSync(join(ROOT, 'docs', 'errors.md'), 'utf8').matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]));
    for (const { where, expr } of uses()) {
      for (const u of seriesUses(expr)) {
        for (const { label, op, value } of u.matchers) {
          const alternatives = op === '=' ? [value] : value.split('|');
          if (label === 'code') {
            expect(alternatives.filter((c) => !catalogue.has(c)), `${where}: codes not in docs/errors.md`).to.deep.equal([]);
            continue;
          }
          // A status class (5..) is a pattern over values no quiet scrape shows; the others name what the code gives.
          if (label === 'status') continue;
          const values = (scraped.get(u.series) ?? scraped.get(u.series.replace(/_(bucket|count|sum)$/, '')))!.series.map((s) => s.labels[label]).filter((v) => v !== undefined);
          for (const alt of alternatives) {
            const re = new RegExp(`^(?:${op === '=' ? alt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') : alt})$`);
            expect(values.some((v) => re.test(v)), `${where}: ${label}${op}"${alt}" matches none of ${JSON.stringify([...new Set(values)])}`).to.equal(true);
          }
        }
      }
    }
  });
});
