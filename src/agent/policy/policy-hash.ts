import { hashCanonical } from '../../core/hash';
import { DEFAULT_POLICY, type AgentPolicy, type PolicyFile } from './policy';
import { policyName } from './resolve-policy';

const hashes = new WeakMap<AgentPolicy, string>();

/**
 * Fixes an entry's hash from the entry as its file writes it (parsePolicy): the RFC 8785 JSON of the
 * parsed JSON/YAML value, nothing filled in or rewritten, so an auditor holding the file recomputes
 * it with any JCS library, and another release (with other defaults) gives the same hash.
 */
export function rememberWrittenEntry(entry: AgentPolicy, written: unknown): void {
  hashes.set(entry, hashCanonical(written));
}

/**
 * Which version of a policy entry decided: the SHA-256 of the RFC 8785 canonical JSON of the entry
 * as the file writes it (rememberWrittenEntry; an entry made in code, not read by parsePolicy: as parsed),
 * recorded as PolicyEvaluated v2 `policyHash`. The entry's name (`acme/*`) stays the same when the
 * file changes; this does not. The start logs each entry's hash (`policy in force`), so an auditor
 * can tell which file a decision was made under; the same file gives the same hashes on every process.
 * @example policyEntryHash(resolvePolicy(file, 'acme', 'bot')) // '0x…' (64 hex digits)
 */
export function policyEntryHash(entry: AgentPolicy): string {
  let h = hashes.get(entry);
  if (h === undefined) {
    h = hashCanonical(entry);
    hashes.set(entry, h);
  }
  return h;
}

/**
 * Each entry's name (`<tenant>/<agent>`) and its policyEntryHash: what the start logs as `policy in
 * force`. The built-in default (`default`, where no entry applies) is fixed by the release and
 * recorded without a hash (PolicyEvaluated v1).
 * @example policyHashes(parsePolicy({ policies: [{ tenant: 'acme' }] })) // { 'acme/*': '0x…' }
 */
export function policyHashes(file: PolicyFile): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of file.policies) out[policyName(e)] = policyEntryHash(e);
  return out;
}

/**
 * The version a decision of `entry` records (PolicyEvaluated v2 `policyHash`): its policyEntryHash,
 * or undefined for the built-in default, which has no versions (its decisions stay v1).
 */
export function decisionVersion(entry: AgentPolicy): string | undefined {
  return entry === DEFAULT_POLICY ? undefined : policyEntryHash(entry);
}
