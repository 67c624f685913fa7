import { ConfigError } from '../../core/errors';
import { hasKey } from '../../core/has-key';
import { PolicyFileSchema, type PolicyFile } from './policy';
import { loneSurrogateProblem } from '../../core/lone-surrogate';
import { readSettingsDocument } from '../../core/settings-text';
import { settingsIssuesText } from '../../core/settings-issue';
import { rememberWrittenEntry } from './policy-hash';

/**
 * Parse a policy document (already read): `{ policies: [...] }`. Throws ConfigError naming every
 * faulty field (at most 5), each with its line and column when the file's `text` is given.
 */
export function parsePolicy(doc: unknown, source = 'POLICY_FILE', text?: string): PolicyFile {
  const lone = loneSurrogateProblem(doc);
  if (lone) throw new ConfigError(`${source}: ${lone}`, { variable: 'POLICY_FILE' });
  const parsed = PolicyFileSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    throw new ConfigError(`${source}: ${settingsIssuesText(parsed.error.issues, doc, text)}`, { variable: 'POLICY_FILE' });
  }
  // Each entry's version is the hash of the entry as written (docs/policy.md, "Which policy decided").
  const written = (doc as { policies?: unknown[] } | undefined)?.policies ?? [];
  parsed.data.policies.forEach((entry, i) => rememberWrittenEntry(entry, written[i]));
  return parsed.data;
}

/** Read POLICY_FILE (JSON or YAML by extension). No file = no entries (DEFAULT_POLICY everywhere); an empty file is refused. */
export function loadPolicyFile(path: string | undefined): PolicyFile {
  if (!path) return { policies: [] };
  // A JSON key written twice in one object (a `deny` list before a second `deny`) is refused too.
  const { doc, text } = readSettingsDocument(path, 'POLICY_FILE');
  // Set but saying nothing (empty, only comments, `{}`): every task ran under the default policy.
  if (!hasKey(doc, 'policies')) {
    throw new ConfigError(`POLICY_FILE ${path}: has no \`policies\` list (an empty file?): write the policies (docs/policy.md), or unset POLICY_FILE for the default policy`, { variable: 'POLICY_FILE' });
  }
  return parsePolicy(doc, `POLICY_FILE ${path}`, text);
}
