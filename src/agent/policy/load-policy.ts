import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseDocument } from 'yaml';
import { ConfigError } from '../../core/errors';
import { hasKey } from '../../core/has-key';
import { PolicyFileSchema, type PolicyFile } from './policy';
import { loneSurrogateProblem } from '../../core/lone-surrogate';

/** Parse a policy document (already read): `{ policies: [...] }`. Throws ConfigError naming the field. */
export function parsePolicy(doc: unknown, source = 'POLICY_FILE'): PolicyFile {
  const lone = loneSurrogateProblem(doc);
  if (lone) throw new ConfigError(`${source}: ${lone}`, { variable: 'POLICY_FILE' });
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
  // JSON.parse keeps the last of two equal keys: a `deny` list written before a second `deny` (or
  // an entry's `tools` before another `tools`) would be dropped without a word. YAML refuses them
  // itself; JSON text is YAML too, and its parser names the line.
  if (!/\.ya?ml$/i.test(path)) {
    const twice = parseDocument(text).errors.find((e) => e.code === 'DUPLICATE_KEY');
    if (twice) {
      const at = twice.linePos?.[0];
      // The error points at the repeated key: the JSON string that starts there.
      const key = (/^"(?:[^"\\]|\\.)*"/.exec(text.slice(twice.pos[0])) ?? ['a key'])[0].slice(0, 200);
      throw new ConfigError(
        `POLICY_FILE ${path}: names ${key} twice in one object${at ? ` (the second at line ${at.line}, column ${at.col})` : ''}: JSON keeps only the last, so the first would be silently dropped; write it once`,
        { variable: 'POLICY_FILE' },
      );
    }
  }
  // Set but saying nothing (empty, only comments, `{}`): every task ran under the default policy.
  if (!hasKey(doc, 'policies')) {
    throw new ConfigError(`POLICY_FILE ${path}: has no \`policies\` list (an empty file?): write the policies (docs/policy.md), or unset POLICY_FILE for the default policy`, { variable: 'POLICY_FILE' });
  }
  return parsePolicy(doc, `POLICY_FILE ${path}`);
}
