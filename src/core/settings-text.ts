import { readFileSync } from 'node:fs';
import { parse as parseYaml, parseDocument, visit } from 'yaml';
import { ConfigError } from './errors';
import { protoKeyPath } from './proto-key';

/** JSON text naming a key twice in one object, or any text naming a key `__proto__` (parseSettingsText). */
export class RefusedKeyError extends Error {}

/**
 * A settings file's text (POLICY_FILE, MCP_SERVERS_FILE, CHAINS_FILE, OPENMCP_CONFIG), read as YAML
 * when its name ends in .yml/.yaml, else as JSON. Throws an Error whose message says what is wrong
 * (callers put the file's variable and path in front).
 *
 * JSON.parse keeps the last of two equal keys, so a `deny` list, a server's `env` or a chain's
 * `rpcUrl` written before a second one would be dropped without a word: JSON text naming a key
 * twice in one object is refused, naming the key and the second one's line. (YAML's parser refuses
 * such keys itself; JSON text is YAML too, so the same parser finds them.)
 *
 * A key named `__proto__`, in JSON or YAML, is refused too, naming the object that holds it: both
 * parsers keep it as an own key, but the schemas that read these files (zod's `z.record`: a
 * server's `env` and `headers`, the `mcpServers` map, a policy's `budgets` and `methods`) copy
 * objects by assignment, which drops it without a word (protoKeyPath). So is a YAML alias inside
 * the node its anchor names, a value holding itself (refuseCycle).
 * @example parseSettingsText('a.json', '{"a": 1, "a": 2}') // throws: names "a" twice in one object (the second at line 1, column 10) …
 */
export function parseSettingsText(path: string, text: string): unknown {
  if (/\.ya?ml$/i.test(path)) return refuseProtoKey(refuseCycle(text, parseYaml(text)));
  const doc = JSON.parse(text) as unknown;
  const twice = parseDocument(text).errors.find((e) => e.code === 'DUPLICATE_KEY');
  if (twice) {
    const at = twice.linePos?.[0];
    // The error points at the repeated key: the JSON string that starts there.
    const key = (/^"(?:[^"\\]|\\.)*"/.exec(text.slice(twice.pos[0])) ?? ['a key'])[0].slice(0, 200);
    throw new RefusedKeyError(
      `names ${key} twice in one object${at ? ` (the second at line ${at.line}, column ${at.col})` : ''}: JSON keeps only the last, so the first would be silently dropped; write it once`,
    );
  }
  return refuseProtoKey(doc);
}

/**
 * An alias inside the node its anchor names (`a: &x {b: *x}`) makes a value that holds itself: no
 * setting can be one, and the checks walking a settings file (lone surrogates) would overflow the
 * stack on it, naming neither the variable nor the file. `parsed` is returned when there is none.
 */
function refuseCycle(text: string, parsed: unknown): unknown {
  const doc = parseDocument(text);
  visit(doc, {
    Alias(_, alias, path) {
      const target = alias.resolve(doc);
      if (target && path.includes(target)) {
        throw new Error(`the alias *${alias.source} is inside the node its anchor &${alias.source} names: the value would hold itself; write it out`);
      }
    },
  });
  return parsed;
}

function refuseProtoKey(doc: unknown): unknown {
  const at = protoKeyPath(doc);
  if (at) {
    throw new RefusedKeyError(
      `names the key "__proto__" (at ${at.length ? at.join('.') : 'the top level'}): JavaScript would take it for the object's prototype and drop it; rename it`,
    );
  }
  return doc;
}

/**
 * The settings file `variable` names, read and parsed (parseSettingsText), or a ConfigError naming
 * the variable, the path and what is wrong: `cannot read: …`, `not valid JSON/YAML: …`, or the key
 * a JSON object names twice, or a key named `__proto__`.
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
    const problem = err instanceof RefusedKeyError ? err.message : `not valid JSON/YAML: ${(err as Error).message}`;
    throw new ConfigError(`${variable} ${path}: ${problem}`, { variable });
  }
}
