import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../core/errors';
import { PolicyFileSchema, type PolicyFile } from './policy';

/** Parse a policy document (already read): `{ policies: [...] }`. Throws ConfigError naming the field. */
export function parsePolicy(doc: unknown, source = 'POLICY_FILE'): PolicyFile {
  const parsed = PolicyFileSchema.safeParse(doc ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${source}: ${issue.path.join('.') || '(root)'}: ${issue.message}`, { variable: 'POLICY_FILE' });
  }
  return parsed.data;
}

/** Read POLICY_FILE (JSON or YAML by extension). No file = no entries (DEFAULT_POLICY everywhere); an empty file is refused. */
export function loadPolicyFile(path: string | undefined): PolicyFile {
  if (!path) return { policies: [] };
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`POLICY_FILE: cannot read ${path}: ${(err as Error).message}`, { variable: 'POLICY_FILE' });
  }
  let doc: unknown;
  try {
    doc = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`POLICY_FILE: ${path} is not valid JSON/YAML: ${(err as Error).message}`, { variable: 'POLICY_FILE' });
  }
  // A file that is there but says nothing (empty, only comments) is a mistake, not "no policy":
  // it would apply the default, which allows every tool.
  if (doc === null || doc === undefined) {
    throw new ConfigError(`POLICY_FILE ${path} has no policies document (it is empty or only comments); write \`policies: []\` for none, or unset POLICY_FILE`, { variable: 'POLICY_FILE' });
  }
  return parsePolicy(doc, `POLICY_FILE ${path}`);
}
