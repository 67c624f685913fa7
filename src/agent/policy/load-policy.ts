import { ConfigError } from '../../core/errors';
import { hasKey } from '../../core/has-key';
import { PolicyFileSchema, type PolicyFile } from './policy';
import { loneSurrogateProblem } from '../../core/lone-surrogate';
import { readSettingsFile } from '../../core/settings-text';
import { settingsIssueText } from '../../core/settings-issue';

/** Parse a policy document (already read): `{ policies: [...] }`. Throws ConfigError naming the field. */
export function parsePolicy(doc: unknown, source = 'POLICY_FILE'): PolicyFile {
  const lone = loneSurrogateProblem(doc);
  if (lone) throw new ConfigError(`${source}: ${lone}`, { variable: 'POLICY_FILE' });
  const parsed = PolicyFileSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    throw new ConfigError(`${source}: ${settingsIssueText(parsed.error.issues[0], doc)}`, { variable: 'POLICY_FILE' });
  }
  return parsed.data;
}

/** Read POLICY_FILE (JSON or YAML by extension). No file = no entries (DEFAULT_POLICY everywhere); an empty file is refused. */
export function loadPolicyFile(path: string | undefined): PolicyFile {
  if (!path) return { policies: [] };
  // A JSON key written twice in one object (a `deny` list before a second `deny`) is refused too.
  const doc = readSettingsFile(path, 'POLICY_FILE');
  // Set but saying nothing (empty, only comments, `{}`): every task ran under the default policy.
  if (!hasKey(doc, 'policies')) {
    throw new ConfigError(`POLICY_FILE ${path}: has no \`policies\` list (an empty file?): write the policies (docs/policy.md), or unset POLICY_FILE for the default policy`, { variable: 'POLICY_FILE' });
  }
  return parsePolicy(doc, `POLICY_FILE ${path}`);
}
