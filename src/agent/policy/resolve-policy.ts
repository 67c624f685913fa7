import { DEFAULT_POLICY, type AgentPolicy, type PolicyFile } from './policy';

/**
 * The one policy entry that applies to a tenant's agent: the most specific match wins
 * (tenant+agent, tenant+*, *+agent, *+*); entries are never merged, so what applies is
 * exactly what one entry says. No match = DEFAULT_POLICY.
 */
export function resolvePolicy(file: PolicyFile, tenant: string, agent = '*'): AgentPolicy {
  const candidates: [string, string][] = [
    [tenant, agent],
    [tenant, '*'],
    ['*', agent],
    ['*', '*'],
  ];
  for (const [t, a] of candidates) {
    const hit = file.policies.find((p) => p.tenant === t && p.agent === a);
    if (hit) return hit;
  }
  return DEFAULT_POLICY;
}

/** `<tenant>/<agent>` of the entry, for PolicyEvaluated.policy. */
export function policyName(p: AgentPolicy): string {
  return p === DEFAULT_POLICY ? 'default' : `${p.tenant}/${p.agent}`;
}
