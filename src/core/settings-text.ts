import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseDocument } from 'yaml';
import { ConfigError } from './errors';

/** JSON text naming a key twice in one object (parseSettingsText). */
export class DuplicateKeyError extends Error {}

/**
 * A settings file's text (POLICY_FILE, MCP_SERVERS_FILE, CHAINS_FILE, OPENMCP_CONFIG), read as YAML
 * when its name ends in .yml/.yaml, else as JSON. Throws an Error whose message says what is wrong
 * (callers put the file's variable and path in front).
 *
 * JSON.parse keeps the last of two equal keys, so a `deny` list, a server's `env` or a chain's
 * `rpcUrl` written before a second one would be dropped without a word: JSON text naming a key
 * twice in one object is refused, naming the key and the second one's line. (YAML's parser refuses
 * such keys itself; JSON text is YAML too, so the same parser finds them.)
 * @example parseSettingsText('a.json', '{"a": 1, "a": 2}') // throws: names "a" twice in one object (the second at line 1, column 10) …
 */
export function parseSettingsText(path: string, text: string): unknown {
  if (/\.ya?ml$/i.test(path)) return parseYaml(text);
  const doc = JSON.parse(text) as unknown;
  const twice = parseDocument(text).errors.find((e) => e.code === 'DUPLICATE_KEY');
  if (twice) {
    const at = twice.linePos?.[0];
    // The error points at the repeated key: the JSON string that starts there.
    const key = (/^"(?:[^"\\]|\\.)*"/.exec(text.slice(twice.pos[0])) ?? ['a key'])[0].slice(0, 200);
    throw new DuplicateKeyError(
      `names ${key} twice in one object${at ? ` (the second at line ${at.line}, column ${at.col})` : ''}: JSON keeps only the last, so the first would be silently dropped; write it once`,
    );
  }
  return doc;
}

/**
 * The settings file `variable` names, read and parsed (parseSettingsText), or a ConfigError naming
 * the variable, the path and what is wrong: `cannot read: …`, `not valid JSON/YAML: …`, or the key
 * a JSON object names twice.
 * @example readSettingsFile('/etc/openmcp/policy.yaml', 'POLICY_FILE')
 */
export function readSettingsFile(path: string, variable: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${variable} ${path}: cannot read: ${(err as Error).message}`, { variable });
  }
  try {
    return parseSettingsText(path, text);
  } catch (err) {
    const problem = err instanceof DuplicateKeyError ? err.message : `not valid JSON/YAML: ${(err as Error).message}`;
    throw new ConfigError(`${variable} ${path}: ${problem}`, { variable });
  }
}
