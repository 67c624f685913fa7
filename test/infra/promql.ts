import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/** What infra/ asks Prometheus and Grafana: the alert rules' and the dashboard panels' PromQL. */
export const INFRA = join(__dirname, '..', '..', 'infra');

export type AlertRule = { alert: string; expr: string; labels: { severity: string } };

export function alertRules(): AlertRule[] {
  const alerts = parse(readFileSync(join(INFRA, 'prometheus', 'alerts.yml'), 'utf8'));
  return alerts.groups.flatMap((g: { rules: AlertRule[] }) => g.rules);
}

export function panelExprs(): string[] {
  const dashboard = JSON.parse(readFileSync(join(INFRA, 'grafana', 'dashboards', 'openmcp-overview.json'), 'utf8'));
  return dashboard.panels.flatMap((p: { targets?: Array<{ expr: string }> }) => (p.targets ?? []).map((t) => t.expr));
}

/** Labels every scraped series has besides its own: Prometheus' target labels and those prometheus.yml relabels in (`role`). */
export function targetLabels(): string[] {
  const prom = parse(readFileSync(join(INFRA, 'prometheus', 'prometheus.yml'), 'utf8'));
  const relabelled = prom.scrape_configs.flatMap((c: { relabel_configs?: Array<{ target_label: string }> }) => (c.relabel_configs ?? []).map((r) => r.target_label));
  return ['job', 'instance', ...relabelled];
}

/** Label names an expression selects on (`{label=…}`) or groups by (`by (…)`). */
export function usedLabels(promql: string): string[] {
  const out = new Set<string>();
  for (const m of promql.matchAll(/\{([^}]*)\}/g)) for (const l of m[1].matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)) out.add(l[1]);
  for (const m of promql.matchAll(/\bby \(([^)]*)\)/g)) for (const l of m[1].split(',')) out.add(l.trim());
  return [...out];
}

/** openmcp_* series names in PromQL (or in a document), with histogram suffixes mapped back to the metric. */
export function usedMetrics(promql: string[]): string[] {
  const out = new Set<string>();
  for (const q of promql) for (const m of q.matchAll(/\b(openmcp_[a-z0-9_]+)/g)) out.add(m[1].replace(/_(bucket|count|sum)$/, ''));
  return [...out];
}

/** Each openmcp_* series an expression reads: its name as written, whether rate()/increase()/irate() takes it, and its positive matchers. */
export type SeriesUse = { series: string; underRate: boolean; matchers: Array<{ label: string; op: '=' | '=~'; value: string }> };

export function seriesUses(promql: string): SeriesUse[] {
  const out: SeriesUse[] = [];
  for (const m of promql.matchAll(/\b(openmcp_[a-z0-9_]+)(\{[^}]*\})?/g)) {
    const before = promql.slice(0, m.index);
    // `label!=` and `label!~` do not match: a `!` stands between the name and the `=`.
    const matchers = [...(m[2] ?? '').matchAll(/([a-z_]+)\s*(=~|=)\s*"([^"]*)"/g)].map((x) => ({ label: x[1], op: x[2] as '=' | '=~', value: x[3] }));
    out.push({ series: m[1], underRate: /\b(?:rate|irate|increase)\(\s*$/.test(before), matchers });
  }
  return out;
}
