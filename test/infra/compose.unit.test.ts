import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { loadPolicyFile } from '../../src/agent/policy/load-policy';
import { connectsUpstreams, parseRoles } from '../../src/app/roles';
import { REGISTRATIONS_CHECK_NAME } from '../../src/app/registrations-readiness';
import { CONFIG_VARIABLES, loadConfig } from '../../src/config';
import { readServersFile } from '../../src/mcp/servers-file';
import { EVENT_COUNT_CAP } from '../../src/eventstore/events-after';
import { METRIC_READ_FAILURES_METRIC } from '../../src/metrics';
import { UNINDEXED_METRIC } from '../../src/projector/subject-index-sweep';
import { alertRules, panelExprs, targetLabels, usedLabels, usedMetrics } from './promql';

const ROOT = join(__dirname, '..', '..');
const INFRA = join(ROOT, 'infra');
const ROLES = ['api', 'gateway', 'relay', 'projector', 'sealer', 'anchorer', 'agent'];
const GATEWAY_IMAGE = 'openmcp-chain:latest';

type Service = {
  image?: string;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  profiles?: string[];
  ports?: string[];
  volumes?: string[];
  user?: string;
  init?: boolean;
  healthcheck?: { test?: string[]; interval?: string; retries?: number };
  depends_on?: Record<string, { condition: string }>;
};
const compose = parse(readFileSync(join(INFRA, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const gatewayServices = Object.entries(compose.services).filter(([, s]) => s.image === GATEWAY_IMAGE);
const roleServices = gatewayServices.filter(([, s]) => !s.profiles?.includes('setup'));

/** `${NAME:-default}` / `${NAME:?message}` as compose would fill them from a complete infra/.env. */
function interpolate(value: string): string {
  const sample: Record<string, string> = {
    ANCHOR_CONTRACT: `0x${'11'.repeat(20)}`,
    ANCHORER_PRIVATE_KEY: `0x${'22'.repeat(32)}`,
    SEALER_PRIVATE_KEY: `0x${'33'.repeat(32)}`,
    AGENT_PRIVATE_KEY: `0x${'44'.repeat(32)}`,
    OPENMCP_ADMIN_KEY: 'Zx9kQ2mV7pL4sN8wR3tB6yH1cF5gJ0dA',
  };
  return String(value).replace(/\$\{([A-Z0-9_]+)(?::[-?]([^}]*))?\}/g, (_m, name: string, fallback?: string) => sample[name] ?? (fallback && !/^set /.test(fallback) ? fallback : ''));
}

/**
 * Every metric the code registers with prom-client, with its label names: the `name:` (a literal or
 * a constant holding 'openmcp_…') and `labelNames:` of each `new Gauge|Counter|Histogram|Summary({…})`
 * in src/. A name merely mentioned (a comment, an example) is not a metric.
 */
function registeredMetrics(): Map<string, string[]> {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (p.endsWith('.ts')) files.push(readFileSync(p, 'utf8'));
    }
  };
  walk(join(ROOT, 'src'));
  const constants = new Map<string, string>();
  for (const text of files) for (const m of text.matchAll(/\bconst ([A-Z][A-Z0-9_]*) = '(openmcp_[a-z0-9_]+)'/g)) constants.set(m[1], m[2]);
  const metrics = new Map<string, string[]>();
  for (const text of files) {
    for (const m of text.matchAll(/new (?:Gauge|Counter|Histogram|Summary)(?:<[^>]*>)?\(\{([\s\S]*?)\n\s*\}\)/g)) {
      const name = /\bname: (?:'(openmcp_[a-z0-9_]+)'|([A-Z][A-Z0-9_]*))/.exec(m[1]);
      if (!name) continue;
      const metric = name[1] ?? constants.get(name[2]);
      expect(metric, `metric name constant ${name[2]}`).to.be.a('string');
      const labels = /\blabelNames: \[([^\]]*)\]/.exec(m[1])?.[1] ?? '';
      metrics.set(metric!, [...labels.matchAll(/'([a-z_]+)'/g)].map((l) => l[1]));
    }
  }
  return metrics;
}

describe('infra/ (production stack description)', () => {
  it('runs every role as a gateway service, and each service runs the roles it is named for', () => {
    const seen = new Set<string>();
    for (const [name, s] of roleServices) {
      const roles = s.environment?.OPENMCP_ROLES;
      expect(roles, `${name}: OPENMCP_ROLES`).to.be.a('string');
      const i = s.command!.indexOf('--roles');
      expect(i, `${name}: start --roles`).to.be.greaterThan(0);
      expect(s.command!.slice(0, i)).to.deep.equal(['node', 'bin/openmcp', 'start']);
      expect(s.command![i + 1], `${name}: --roles equals OPENMCP_ROLES`).to.equal(roles);
      for (const r of roles!.split(',')) {
        expect(ROLES, `${name}: role ${r}`).to.include(r);
        seen.add(r);
      }
    }
    expect([...seen].sort()).to.deep.equal([...ROLES].sort());
  });

  it('sets only variables the configuration schema reads, on every gateway service', () => {
    for (const [name, s] of gatewayServices) {
      const unknown = Object.keys(s.environment ?? {}).filter((k) => !(CONFIG_VARIABLES as string[]).includes(k));
      expect(unknown, `${name}: variables not in ConfigSchema (src/config.ts)`).to.deep.equal([]);
    }
  });

  it('infra/.env.example lists every variable compose requires, and only variables compose uses', () => {
    const text = readFileSync(join(INFRA, 'docker-compose.yml'), 'utf8');
    const example = [...readFileSync(join(INFRA, '.env.example'), 'utf8').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    const required = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+):\?/g)].map((m) => m[1]))];
    const used = new Set([...text.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]));
    expect(required.filter((v) => !example.includes(v)), 'required by compose, missing from .env.example').to.deep.equal([]);
    expect(example.filter((v) => !used.has(v)), 'in .env.example, unused by compose').to.deep.equal([]);
  });

  it('gives every role service a configuration that loads (values well-formed once infra/.env is filled in)', () => {
    for (const [name, s] of roleServices) {
      const env = Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(v)]));
      const c = loadConfig(env, '/app');
      expect(c.KURRENTDB_URL, name).to.match(/^kurrentdb:/);
      expect(c.DATABASE_URL, name).to.match(/^mysql:/);
      expect(c.KAFKA_BROKERS && c.REDIS_URL && c.CHAIN_RPC_URL && c.OTEL_EXPORTER_OTLP_ENDPOINT, name).to.be.a('string');
      expect(c.OTEL_SERVICE_NAME, name).to.equal(`openmcp-${name}`);
    }
  });

  it("gives the api service the agents' LLM settings: the API refuses a task with an instruction (422 LLM_NOT_CONFIGURED) unless OPENAI_BASE_URL is set in its own process, and accepts answerRecipient by its own LLM_REDACTION", () => {
    const env = (name: string) => Object.fromEntries(Object.entries(compose.services[name].environment ?? {}).map(([k, v]) => [k, interpolate(v)]));
    const api = loadConfig(env('api'), '/app');
    const agent = loadConfig(env('agent'), '/app');
    expect(agent.OPENAI_BASE_URL, 'the agents have an LLM').to.be.a('string');
    expect(api.OPENAI_BASE_URL, 'api: OPENAI_BASE_URL').to.equal(agent.OPENAI_BASE_URL);
    expect(api.LLM_REDACTION, 'api: LLM_REDACTION').to.equal(agent.LLM_REDACTION);
    // The API never calls the model: it needs no key.
    expect(compose.services.api.environment).to.not.have.property('OPENAI_API_KEY');
  });

  it('gives the anchorer key only to the services that sign with it: those running the anchorer role (each needs it) and the one-shot contracts-deploy', () => {
    const hasKey = (s: Service) => Boolean(s.environment?.ANCHORER_PRIVATE_KEY || s.environment?.ANCHORER_KEYSTORE);
    for (const [name, s] of roleServices) {
      const anchors = s.environment!.OPENMCP_ROLES.split(',').some((r) => r === 'anchorer' || r === 'all');
      expect(hasKey(s), `${name} (roles ${s.environment!.OPENMCP_ROLES}): holds the anchorer key`).to.equal(anchors);
    }
    const setup = gatewayServices.filter(([, s]) => s.profiles?.includes('setup'));
    expect(setup.filter(([, s]) => hasKey(s)).map(([n]) => n)).to.deep.equal(['contracts-deploy']);
  });

  it('scrapes every role service with Prometheus', () => {
    const prom = parse(readFileSync(join(INFRA, 'prometheus', 'prometheus.yml'), 'utf8'));
    const names = prom.scrape_configs.flatMap((c: { dns_sd_configs?: Array<{ names: string[] }> }) => (c.dns_sd_configs ?? []).flatMap((d) => d.names));
    expect([...names].sort()).to.deep.equal(roleServices.map(([n]) => n).sort());
    expect(prom.rule_files).to.deep.equal(['/etc/prometheus/alerts.yml']);
  });

  it('uses in alert rules and in the dashboard only metrics the code registers, and only their labels', () => {
    const defined = registeredMetrics();
    expect([...defined.keys()], 'the scan finds the registered metrics').to.include.members(['openmcp_errors_total', 'openmcp_relay_lag_events']);
    const alerts = parse(readFileSync(join(INFRA, 'prometheus', 'alerts.yml'), 'utf8'));
    const alertExprs: string[] = alerts.groups.flatMap((g: { rules: Array<{ expr: string }> }) => g.rules.map((r) => r.expr));
    const dashboard = JSON.parse(readFileSync(join(INFRA, 'grafana', 'dashboards', 'openmcp-overview.json'), 'utf8'));
    const panelExprs: string[] = dashboard.panels.flatMap((p: { targets?: Array<{ expr: string }> }) => (p.targets ?? []).map((t) => t.expr));
    for (const [what, exprs] of [['alerts.yml', alertExprs], ['dashboard', panelExprs]] as const) {
      const used = usedMetrics(exprs);
      expect(used.length, what).to.be.greaterThan(3);
      expect(used.filter((m) => !defined.has(m)), `${what}: metrics not registered in src/`).to.deep.equal([]);
      // A label no series has selects nothing: an alert on it never fires, a panel stays empty.
      for (const expr of exprs) {
        const metrics = usedMetrics([expr]);
        if (!metrics.length) continue;
        const known = new Set([...targetLabels(), ...metrics.flatMap((m) => defined.get(m) ?? []), ...(/_bucket\b/.test(expr) ? ['le'] : [])]);
        expect(usedLabels(expr).filter((l) => !known.has(l)), `${what}: labels no series of ${metrics.join(', ')} has, in ${expr}`).to.deep.equal([]);
      }
    }
    for (const lag of ['openmcp_relay_lag_events', 'openmcp_projection_lag_events', 'openmcp_anchoring_lag_batches']) {
      expect(usedMetrics(alertExprs), 'alerts').to.include(lag);
      expect(usedMetrics(panelExprs), 'dashboard').to.include(lag);
    }
  });

  it('docs name only registered metrics, and the Observability section of docs/operations.md names each one', () => {
    const registered = registeredMetrics();
    const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
    for (const doc of docs) {
      const named = usedMetrics([readFileSync(join(ROOT, doc), 'utf8')]);
      expect(named.filter((m) => !registered.has(m)), `${doc}: metrics not registered in src/`).to.deep.equal([]);
    }
    const operations = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const observability = operations.slice(operations.indexOf('## Observability'));
    expect([...registered.keys()].filter((m) => !observability.includes(`\`${m}`)), 'missing from docs/operations.md, Observability').to.deep.equal([]);
  });

  it("names every alert rule in docs/operations.md's Alerts list, and the docs name no alert the rules lack (an operator paged by one looks it up there; a runbook's alert that does not exist never pages)", () => {
    const rules = alertRules().map((r) => r.alert);
    expect(new Set(rules).size, 'alert names are unique').to.equal(rules.length);
    const operations = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');
    const start = operations.indexOf('- **Alerts** (`infra/prometheus/alerts.yml`');
    expect(start, 'docs/operations.md, Observability: the Alerts bullet').to.be.greaterThan(0);
    const list = operations.slice(start, operations.indexOf('\n- **', start + 1));
    expect(rules.filter((a) => !list.includes(`\`${a}\``)), "alerts.yml rules missing from docs/operations.md's Alerts list").to.deep.equal([]);
    // Each with its severity: the first "(warning" or "(critical" after its name in its item.
    const said = new Map<string, string | undefined>();
    for (const item of list.split(/\n {2}- /).slice(1)) {
      for (const m of item.matchAll(/`(OpenMcp\w+)`/g)) said.set(m[1], /\((warning|critical)\b/.exec(item.slice(m.index! + m[0].length))?.[1]);
    }
    expect(alertRules().filter((r) => said.get(r.alert) !== r.labels.severity).map((r) => `${r.alert}: docs ${said.get(r.alert)}, alerts.yml ${r.labels.severity}`), 'severities in the Alerts list').to.deep.equal([]);
    // Classes of the code share the prefix (OpenMcpClient, OpenMcpError): those are no alerts.
    const classes = new Set<string>();
    const walk = (dir: string) => {
      for (const f of readdirSync(dir)) {
        const p = join(dir, f);
        if (statSync(p).isDirectory()) walk(p);
        else if (p.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/\b(?:class|interface|type) (OpenMcp\w*)/g)) classes.add(m[1]);
      }
    };
    walk(join(ROOT, 'src'));
    const docs = ['README.md', join('infra', 'docker-compose.yml'), ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
    for (const doc of docs) {
      const named = [...new Set([...readFileSync(join(ROOT, doc), 'utf8').matchAll(/\b(OpenMcp[A-Z]\w*)/g)].map((m) => m[1]))].filter((n) => !classes.has(n));
      expect(named.filter((n) => !rules.includes(n)), `${doc}: alerts not in infra/prometheus/alerts.yml`).to.deep.equal([]);
    }
  });

  it("names in each alert's annotations and each panel's legend only labels its expression keeps: an aggregation keeps its by () labels alone, absent() its equality matchers (a {{ $labels.role }} the expression dropped pages with an empty role)", () => {
    const registered = registeredMetrics();
    const rules = alertRules() as Array<{ alert: string; expr: string; annotations?: Record<string, string> }>;
    let checked = 0;
    for (const r of rules) {
      const wanted = [...new Set(Object.values(r.annotations ?? {}).flatMap((t) => [...t.matchAll(/\$labels\.([a-z_]+)/g)].map((m) => m[1])))];
      if (!wanted.length) continue;
      checked++;
      const aggregations = [...r.expr.matchAll(/\b(?:sum|min|max|avg|count)\s*(?:by\s*\(([^)]*)\)\s*)?\(/g)].map((m) => (m[1] ?? '').split(',').map((l) => l.trim()).filter(Boolean));
      const absents = [...r.expr.matchAll(/\babsent\(\s*[a-z_:]+\{([^}]*)\}\s*\)/g)].map((m) => [...m[1].matchAll(/([a-z_]+)\s*=\s*"/g)].map((l) => l[1]));
      let kept: string[];
      if (aggregations.length) kept = aggregations.reduce((a, b) => a.filter((l) => b.includes(l)));
      else if (absents.length) kept = absents.reduce((a, b) => a.filter((l) => b.includes(l)));
      else kept = [...targetLabels(), ...usedMetrics([r.expr]).flatMap((m) => registered.get(m) ?? [])];
      expect(wanted.filter((l) => !kept.includes(l)), `${r.alert}: annotation labels its expression does not keep (keeps ${kept.join(', ') || 'none'})`).to.deep.equal([]);
    }
    expect(checked, 'alerts whose annotations name labels').to.be.greaterThan(5);
    // The dashboard's legends likewise: a {{route}} its query summed away shows as an empty name.
    const dashboard = JSON.parse(readFileSync(join(INFRA, 'grafana', 'dashboards', 'openmcp-overview.json'), 'utf8'));
    for (const p of dashboard.panels as Array<{ title: string; targets?: Array<{ expr: string; legendFormat?: string }> }>) {
      for (const t of p.targets ?? []) {
        const wanted = [...(t.legendFormat ?? '').matchAll(/\{\{\s*([a-z_]+)\s*\}\}/g)].map((m) => m[1]);
        const groups = [...t.expr.matchAll(/\b(?:sum|min|max|avg|count)\s*(?:by\s*\(([^)]*)\)\s*)?\(/g)].map((m) => (m[1] ?? '').split(',').map((l) => l.trim()).filter(Boolean));
        if (!wanted.length || !groups.length) continue;
        const kept = groups.reduce((a, b) => a.filter((l) => b.includes(l)));
        expect(wanted.filter((l) => !kept.includes(l)), `panel ${p.title}: legend labels ${t.expr} does not keep`).to.deep.equal([]);
      }
    }
  });

  it('selects on up{} only the job and roles prometheus.yml scrapes (an alert on another never fires: OpenMcpRoleMissing would stay silent)', () => {
    const prom = parse(readFileSync(join(INFRA, 'prometheus', 'prometheus.yml'), 'utf8'));
    const jobs = prom.scrape_configs.map((c: { job_name: string }) => c.job_name);
    const roles = prom.scrape_configs.flatMap((c: { dns_sd_configs?: Array<{ names: string[] }> }) => (c.dns_sd_configs ?? []).flatMap((d) => d.names));
    const exprs = [...alertRules().map((r) => r.expr), ...panelExprs()];
    const ups = exprs.flatMap((e) => [...e.matchAll(/\bup\{([^}]*)\}/g)].map((m) => m[1]));
    expect(ups.length).to.be.greaterThan(3);
    for (const selector of ups) {
      for (const [, label, value] of selector.matchAll(/([a-z_]+)="([^"]*)"/g)) {
        if (label === 'job') expect(jobs, selector).to.include(value);
        else if (label === 'role') expect(roles, selector).to.include(value);
        else expect.fail(`up{${selector}}: label ${label} is not set by prometheus.yml`);
      }
    }
  });

  it('alerts on a stalled relay (its /readyz line degraded), which never skips an event and so waits for an operator', () => {
    const alerts = parse(readFileSync(join(INFRA, 'prometheus', 'alerts.yml'), 'utf8'));
    const rules: Array<{ alert: string; expr: string; labels: { severity: string } }> = alerts.groups.flatMap((g: { rules: unknown[] }) => g.rules);
    const stalled = rules.filter((r) => /openmcp_dependency_up\{dependency=~"relay /.test(r.expr) && /< 1/.test(r.expr));
    expect(stalled.map((r) => r.labels.severity)).to.deep.equal(['critical']);
  });

  it('alerts on a start-up registration that failed (its /readyz line degraded till a restart): the start no longer stops on it, and /readyz stays 200', () => {
    const failed = alertRules().filter((r) => r.expr.includes(`openmcp_dependency_up{dependency="${REGISTRATIONS_CHECK_NAME}"}`) && /< 1/.test(r.expr));
    expect(failed.map((r) => r.labels.severity)).to.deep.equal(['warning']);
  });

  it('sets lag thresholds that can fire on KurrentDB, whose *_lag_events gauges stop counting at EVENT_COUNT_CAP', () => {
    const alerts = parse(readFileSync(join(INFRA, 'prometheus', 'alerts.yml'), 'utf8'));
    const rules: Array<{ alert: string; expr: string }> = alerts.groups.flatMap((g: { rules: unknown[] }) => g.rules);
    const lagRules = rules.filter((r) => /openmcp_\w+_lag_events\)?\s*[<>]/.test(r.expr));
    expect(lagRules.map((r) => r.alert)).to.include.members(['OpenMcpRelayLag', 'OpenMcpProjectionLag', 'OpenMcpSealingLag']);
    for (const r of lagRules) {
      const [, op, n] = /(>=|>)\s*(\d+)\s*$/.exec(r.expr.trim())!;
      expect(op === '>=' ? Number(n) <= EVENT_COUNT_CAP : Number(n) < EVENT_COUNT_CAP, `${r.alert}: ${r.expr}`).to.equal(true);
    }
  });

  it("alerts (critical) on every code the anchorer keeps failing with until an operator acts: ANCHOR_MISMATCH, ANCHOR_CONTRACT_MISSING, CONFIG_INVALID (a key without AuditAnchor's anchorer role, another chain than CHAIN_ID) and ANCHORER_NO_FUNDS (was not: in a quiet deployment the anchoring lag stays under the lag alert's threshold for hours)", () => {
    const alerts = parse(readFileSync(join(INFRA, 'prometheus', 'alerts.yml'), 'utf8'));
    const rules: Array<{ expr: string; labels: { severity: string } }> = alerts.groups.flatMap((g: { rules: unknown[] }) => g.rules);
    const critical = rules.filter((r) => r.labels.severity === 'critical' && r.expr.includes('openmcp_errors_total')).map((r) => r.expr).join('\n');
    for (const code of ['ANCHOR_MISMATCH', 'ANCHOR_CONTRACT_MISSING', 'CONFIG_INVALID', 'ANCHORER_NO_FUNDS']) expect(critical, code).to.match(new RegExp(`\\b${code}\\b`));
  });

  it('alerts (warning, not critical) on anchor transactions that keep waiting (ANCHOR_DELAYED: fee cap, fee spike, confirmations), which were counted as INTERNAL', () => {
    const alerts = parse(readFileSync(join(INFRA, 'prometheus', 'alerts.yml'), 'utf8'));
    const rules: Array<{ alert: string; expr: string; labels: { severity: string } }> = alerts.groups.flatMap((g: { rules: unknown[] }) => g.rules);
    const delayed = rules.filter((r) => r.expr.includes('openmcp_errors_total') && /\bANCHOR_DELAYED\b/.test(r.expr));
    expect(delayed.map((r) => [r.alert, r.labels.severity])).to.deep.equal([['OpenMcpAnchoringDelayed', 'warning']]);
  });

  it("alerts on a subject index count that stays above 0 without going down, not on a long fill that goes on (the gauge counts down slice by slice; it fired after 15 minutes of any fill)", () => {
    const rules = alertRules().filter((r) => r.expr.includes(UNINDEXED_METRIC));
    expect(rules.map((r) => r.alert)).to.deep.equal(['OpenMcpSubjectIndexUnfilled']);
    const expr = rules[0].expr.replace(/\s+/g, ' ');
    const m = UNINDEXED_METRIC;
    // Not gone down in the window: now at its highest in it. Above 0 all through it: its lowest.
    expect(expr).to.include(`max(${m}) >= max(max_over_time(${m}[15m]))`);
    expect(expr).to.match(new RegExp(`\\bmin_over_time\\(max\\(${m}\\)\\[15m:1m\\]\\) > 0\\b`));
    // And over the whole window (15 steps of a minute): a gauge only 2 minutes old (a first start, new
    // series) has a lowest above 0 and a highest it is at from its first minutes, which is not 15 minutes.
    expect(expr).to.match(new RegExp(`\\bcount_over_time\\(max\\(${m}\\)\\[15m:1m\\]\\) >= 15\\b`));
    expect((rules[0] as { for?: string }).for, 'the window is the wait').to.equal(undefined);
  });

  it('alerts on lag gauges that cannot be read (NaN meanwhile, so no lag alert fires)', () => {
    const alerts = parse(readFileSync(join(INFRA, 'prometheus', 'alerts.yml'), 'utf8'));
    const rules: Array<{ alert: string; expr: string }> = alerts.groups.flatMap((g: { rules: unknown[] }) => g.rules);
    expect(rules.filter((r) => r.expr.includes(METRIC_READ_FAILURES_METRIC))).to.have.length(1);
  });

  it('provisions the datasource the dashboard names', () => {
    const ds = parse(readFileSync(join(INFRA, 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8'));
    const uids = ds.datasources.map((d: { uid: string }) => d.uid);
    const dashboard = JSON.parse(readFileSync(join(INFRA, 'grafana', 'dashboards', 'openmcp-overview.json'), 'utf8'));
    for (const p of dashboard.panels) if (p.datasource) expect(uids).to.include(p.datasource.uid);
  });

  it('runs Redis with the eviction policy docs/operations.md requires (noeviction: an LRU policy evicts held locks)', () => {
    const redis = Object.values(compose.services).find((s) => String((s as { image?: string }).image).startsWith('redis'));
    const command = (redis as { command?: string[] } | undefined)?.command ?? [];
    expect(command[command.indexOf('--maxmemory-policy') + 1]).to.equal('noeviction');
    expect(readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8')).to.include('`maxmemory-policy noeviction`');
  });

  it("runs Kafka so the events topic has the contract's settings: made only by the relay or a projector (no auto-create by a consumer started first), with the broker's partition default the relay's own (6)", () => {
    const kafka = Object.values(compose.services).find((s) => String((s as { image?: string }).image).startsWith('apache/kafka'))!;
    const env = kafka.environment!;
    // Auto-created, the topic would keep the broker's 1 MiB max.message.bytes for its life, and the relay would hold at the first larger event.
    expect(env.KAFKA_AUTO_CREATE_TOPICS_ENABLE, 'KAFKA_AUTO_CREATE_TOPICS_ENABLE').to.equal('false');
    expect(env.KAFKA_NUM_PARTITIONS).to.equal('6');
    expect(readFileSync(join(ROOT, 'src', 'bus', 'kafka', 'ensure-topic.ts'), 'utf8')).to.include('numPartitions: settings.partitions ?? 6');
    for (const [, s] of roleServices) expect(s.environment!.KAFKA_TOPIC_PREFIX).to.equal('openmcp');
  });

  it('mounts config files the product accepts', () => {
    expect(readServersFile(join(INFRA, 'config', 'mcp-servers.yaml'), { kind: 'system', id: 't' })).to.deep.equal([]);
    expect(loadPolicyFile(join(INFRA, 'config', 'policy.yaml'))).to.have.property('policies');
  });

  it('publishes one fixed host port for each endpoint clients reach: the REST API and dashboard (api, 8080) and /mcp (gateway, which alone serves it, 8081), each to the container port the role listens on; no two services share a host port', () => {
    /** Every host port any service publishes, by service. */
    const hostPorts = Object.entries(compose.services).flatMap(([name, s]) =>
      (s.ports ?? []).map((p) => {
        const m = /^(?:[\d.]+:)?(\d+):(\d+)$/.exec(p);
        expect(m, `${name}: port ${p} (one host port to one container port)`).to.not.equal(null);
        return { name, host: Number(m![1]), container: m![2] };
      }),
    );
    const published = new Map<string, number>();
    for (const role of ['api', 'gateway']) {
      const [name, s] = roleServices.find(([, svc]) => svc.environment!.OPENMCP_ROLES.split(',').includes(role))!;
      const ports = hostPorts.filter((p) => p.name === name);
      expect(ports, `${name} (${role}): one published port`).to.have.length(1);
      expect(ports[0].container, `${name}: container port`).to.equal(s.environment!.PORT);
      published.set(role, ports[0].host);
    }
    expect(published.get('api')).to.equal(8080);
    expect(published.get('gateway')).to.equal(8081);
    const hosts = hostPorts.map((p) => p.host);
    expect(new Set(hosts).size, `host ports ${hosts.join(', ')}`).to.equal(hosts.length);
    // The header and docs/operations.md say where clients find /mcp.
    expect(readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8')).to.include(':8081/mcp');
    expect(readFileSync(join(INFRA, 'docker-compose.yml'), 'utf8')).to.include(':8081/mcp');
  });

  it('has a scale overlay that gives every api and gateway replica a host port of its own (ephemeral; a fixed one lets only the first bind it, a range goes whole to the first replica in Compose v2), named in the base file and docs/operations.md', () => {
    const text = readFileSync(join(INFRA, 'docker-compose.scale.yml'), 'utf8');
    /** Compose's `!override` tag: the sequence replaces the base file's instead of adding to it. */
    const override = { tag: '!override', collection: 'seq' as const, resolve: (seq: unknown) => seq };
    const overlay = parse(text, { customTags: [override] }) as { services: Record<string, Service> };
    expect(text).to.match(/ports: !override /);
    for (const role of ['api', 'gateway']) {
      const [name, s] = roleServices.find(([, svc]) => svc.environment!.OPENMCP_ROLES.split(',').includes(role))!;
      // A container port alone: Docker picks a free host port for each replica.
      expect(overlay.services[name]?.ports, `${name} in the overlay`).to.deep.equal([s.environment!.PORT]);
    }
    expect(Object.keys(overlay.services).every((n) => n in compose.services), 'overlay names services of the base file').to.equal(true);
    expect(readFileSync(join(INFRA, 'docker-compose.yml'), 'utf8')).to.include('infra/docker-compose.scale.yml');
    expect(readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8')).to.include('infra/docker-compose.scale.yml');
  });

  it("checks KurrentDB's health with what its image ships (curl, /health/live over HTTP: it runs --insecure), and starts every role that reads the event store only once it answers", () => {
    const [name, kurrent] = Object.entries(compose.services).find(([, s]) => String(s.image).includes('kurrentdb'))!;
    expect(kurrent.command, `${name}: insecure (HTTP)`).to.include('--insecure');
    const probe = kurrent.healthcheck?.test ?? [];
    expect(probe[0], `${name}: healthcheck`).to.equal('CMD');
    expect(probe[1], 'curl: the image installs it').to.equal('curl');
    expect(probe).to.include('--fail');
    expect(probe.at(-1)).to.equal('http://localhost:2113/health/live');
    for (const [svc, s] of roleServices) {
      if (!s.environment?.KURRENTDB_URL) continue;
      expect(new URL(s.environment.KURRENTDB_URL.replace(/^kurrentdb:/, 'http:')).hostname, `${svc}: KURRENTDB_URL`).to.equal(name);
      expect(s.depends_on?.[name], `${svc}: depends_on ${name}`).to.deep.equal({ condition: 'service_healthy' });
    }
    // A condition on a service without a healthcheck would never be met.
    for (const [svc, s] of Object.entries(compose.services)) {
      for (const [dep, d] of Object.entries(s.depends_on ?? {})) {
        if (d.condition === 'service_healthy') expect(compose.services[dep].healthcheck, `${svc} waits for ${dep} to be healthy`).to.not.equal(undefined);
      }
    }
  });

  it('reaches every role service where it listens: published ports need a HOST other than loopback, and the healthcheck and Prometheus use its PORT', () => {
    const scrape = parse(readFileSync(join(INFRA, 'prometheus', 'prometheus.yml'), 'utf8'));
    const scrapePorts: number[] = scrape.scrape_configs.flatMap((c: { dns_sd_configs?: Array<{ port: number }> }) => (c.dns_sd_configs ?? []).map((d) => d.port));
    for (const [name, s] of roleServices) {
      const env = s.environment!;
      if (s.ports?.length) expect(env.HOST, `${name}: HOST`).to.not.match(/^(127\.|localhost$|::1$)/);
      const probe = (s.healthcheck?.test ?? []).join(' ');
      expect(/http:\/\/127\.0\.0\.1:(\d+)\/readyz/.exec(probe)?.[1], `${name}: healthcheck port`).to.equal(env.PORT);
      expect(scrapePorts, `${name}: scraped on PORT`).to.include(Number(env.PORT));
    }
  });

  it('gives every service that connects to the upstream MCP servers (api, gateway, agent) the same MCP_SERVERS_FILE and OPENMCP_EXAMPLES, mounted (docs/operations.md, Roles)', () => {
    const connecting = roleServices.filter(([, s]) => connectsUpstreams(parseRoles(s.environment!.OPENMCP_ROLES)));
    expect(connecting.map(([n]) => n).sort()).to.deep.equal(['agent', 'api', 'gateway']);
    const [, first] = connecting[0];
    const file = first.environment!.MCP_SERVERS_FILE;
    expect(file, 'MCP_SERVERS_FILE').to.be.a('string');
    for (const [name, s] of connecting) {
      expect(s.environment!.MCP_SERVERS_FILE, `${name}: MCP_SERVERS_FILE`).to.equal(file);
      expect(s.environment!.OPENMCP_EXAMPLES, `${name}: OPENMCP_EXAMPLES`).to.equal(first.environment!.OPENMCP_EXAMPLES);
      const targets = (s.volumes ?? []).map((v) => v.split(':')[1]);
      expect(targets, `${name}: a volume holding ${file}`).to.include(dirname(file));
    }
  });

  it("passes infra/.env's MCP_EGRESS_ALLOWED_HOSTS and MCP_EGRESS_DENIED_NETWORKS to every service that connects to the upstream MCP servers (api, which also checks them at registration, gateway, agent): set on some only, a tenant's server is refused by one role and reached by another", () => {
    const connecting = roleServices.filter(([, s]) => connectsUpstreams(parseRoles(s.environment!.OPENMCP_ROLES)));
    for (const [name, s] of connecting) {
      for (const v of ['MCP_EGRESS_ALLOWED_HOSTS', 'MCP_EGRESS_DENIED_NETWORKS']) expect(s.environment![v], `${name}: ${v}`).to.equal(`\${${v}:-}`);
    }
    const example = readFileSync(join(INFRA, '.env.example'), 'utf8');
    for (const v of ['MCP_EGRESS_ALLOWED_HOSTS', 'MCP_EGRESS_DENIED_NETWORKS']) expect(example, `.env.example: ${v}`).to.match(new RegExp(`^${v}=$`, 'm'));
  });

  it('keeps the chain (and the AuditAnchor at ANCHOR_CONTRACT) in a volume anvil can write: its --state file under the volume, written as root (the foundry image runs anvil as an unprivileged user, and a named volume mounted where the image has no directory is root\'s)', () => {
    const chain = Object.values(compose.services).find((s) => (s.entrypoint ?? s.command ?? [])[0] === 'anvil')!;
    const args = chain.entrypoint ?? chain.command!;
    const state = args[args.indexOf('--state') + 1];
    const targets = (chain.volumes ?? []).map((v) => v.split(':')[1]);
    expect(targets, `a volume holding ${state}`).to.include(dirname(state));
    expect(['root', '0', '0:0'], 'user').to.include(chain.user);
  });

  it('gives every Kafka admin command in the docs the --bootstrap-server the tools of Kafka 3 (infra/: apache/kafka 3.9) require', () => {
    const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
    let seen = 0;
    for (const doc of docs) {
      const text = readFileSync(join(ROOT, doc), 'utf8').replace(/\\\n\s*/g, ' ');
      for (const m of text.matchAll(/\bkafka-(?:configs|topics)(?:\.sh)? --[^`\n]*/g)) {
        seen++;
        expect(m[0], doc).to.include('--bootstrap-server');
      }
    }
    expect(seen).to.be.greaterThan(1);
  });

  it("runs every gateway service under an init process (init: true): node as PID 1 reaps no orphan, so a stdio MCP server's process whose launcher (npx, a shell) was killed before it (a server slower than 2 s to leave, a hung one dropped) stayed a zombie until the container stopped", () => {
    for (const [name, s] of gatewayServices) expect(s.init, `${name}: init`).to.equal(true);
    // The init passes SIGTERM on to node, which drains (docs/operations.md, "Draining (SIGTERM)").
    for (const [name, s] of roleServices) expect(s.command?.[0], `${name}: exec form, node under the init`).to.equal('node');
  });

  it("pins every role to the chain service's id (CHAIN_ID = anvil's --chain-id): an anchorer pointed at another network refuses it (CONFIG_INVALID naming both ids) instead of keeping to whichever chain it saw first", () => {
    const chain = Object.entries(compose.services).find(([, s]) => (s.entrypoint ?? s.command ?? [])[0] === 'anvil')!;
    const args = chain[1].entrypoint ?? chain[1].command!;
    const chainId = args[args.indexOf('--chain-id') + 1];
    expect(chainId, 'anvil --chain-id').to.match(/^\d+$/);
    for (const [name, s] of roleServices) {
      const c = loadConfig(Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(v)])), '/app');
      expect(new URL(c.CHAIN_RPC_URL!).hostname, `${name}: CHAIN_RPC_URL`).to.equal(chain[0]);
      expect(c.CHAIN_ID, `${name}: CHAIN_ID`).to.equal(Number(chainId));
    }
  });

  it("stops every gateway service with a grace period longer than its drain (SHUTDOWN_DEADLINE_MS): Docker's SIGKILL at the end of stop_grace_period would cut the drain short (checkpoints not committed, tasks not handed back)", () => {
    const seconds = (d: string) => {
      const m = /^(?:(\d+)m)?(?:(\d+)s)?$/.exec(d);
      expect(m && (m[1] || m[2]), `duration ${d}`).to.be.a('string');
      return Number(m![1] ?? 0) * 60 + Number(m![2] ?? 0);
    };
    for (const [name, s] of roleServices) {
      const grace = (s as Service & { stop_grace_period?: string }).stop_grace_period;
      expect(grace, `${name}: stop_grace_period`).to.be.a('string');
      const c = loadConfig(Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, interpolate(v)])), '/app');
      expect(seconds(grace!) * 1000, `${name}: stop_grace_period ${grace} against SHUTDOWN_DEADLINE_MS ${c.SHUTDOWN_DEADLINE_MS}`).to.be.greaterThan(c.SHUTDOWN_DEADLINE_MS);
    }
  });

  it('builds the image on node:20-slim with the production dependencies only, and starts openmcp', () => {
    const docker = readFileSync(join(INFRA, 'Dockerfile'), 'utf8');
    expect(docker).to.match(/^FROM node:20-slim$/m);
    // No test or build tools (mocha, Hardhat, solc…): test/infra/runtime-dependencies checks that what runs is in dependencies.
    expect(docker).to.match(/^RUN npm ci --omit=dev\b/m);
    expect(docker).to.include('CMD ["node", "bin/openmcp", "start"]');
  });
});
