import { policyName } from './resolve-policy';
import type { PolicyFile } from './policy';

export type UnregisteredServerPattern = {
  /** The entry (`<tenant>/<agent>`). */
  entry: string;
  /** `tools.allow`, `tools.deny` or `tools.budgets`. */
  field: string;
  pattern: string;
  /** The server part of the pattern, which no server of the entry's tenant has. */
  server: string;
};

/**
 * The tool patterns and budget keys of a policy file whose server part (before `__`, without `*`)
 * names no server the entry's tenant reaches: `exmaples__now` in a deny list stops nothing, a budget
 * on it bounds nothing. Not a refusal: servers are registered at run time too (`POST
 * /v1/mcp-servers`), so a name may be right and its server still to come; the start warns instead.
 * `serversOf(tenant)` gives the server names a tenant reaches (its own and the shared ones); an entry
 * for every tenant (`*`) is checked against the names any tenant reaches, given as `serversOf('*')`.
 * @example unregisteredServerPatterns(file, () => ['examples']) // [{ entry: 'acme/*', field: 'tools.deny', pattern: 'exmaples__now', server: 'exmaples' }]
 */
export function unregisteredServerPatterns(file: PolicyFile, serversOf: (tenant: string) => readonly string[]): UnregisteredServerPattern[] {
  const out: UnregisteredServerPattern[] = [];
  for (const e of file.policies) {
    const known = new Set(serversOf(e.tenant));
    const check = (field: string, pattern: string) => {
      const sep = pattern.indexOf('__');
      if (sep <= 0) return;
      const server = pattern.slice(0, sep);
      // `chain`: the runtime's own chain__read_contract and chain__send_transaction (chain-tools.ts), no server's.
      if (server.includes('*') || server === 'chain' || known.has(server)) return;
      out.push({ entry: policyName(e), field, pattern, server });
    };
    for (const p of e.tools.allow) check('tools.allow', p);
    for (const p of e.tools.deny) check('tools.deny', p);
    for (const k of Object.keys(e.tools.budgets)) check('tools.budgets', k);
  }
  return out;
}
