import { readFileSync } from 'node:fs';
import type { Document } from 'yaml';
import { withoutByteOrderMark } from './byte-order-mark';
import { ConfigError } from './errors';
import { duplicateJsonKey, duplicateJsonKeyText } from './json-duplicate-key';
import { protoKeyPath } from './proto-key';

/** JSON text naming a key twice in one object, or any text naming a key `__proto__` (parseSettingsText). */
export class RefusedKeyError extends Error {}

/** The yaml module failing to load: the installation's fault, not the file's (not "not valid JSON/YAML"). */
class YamlUnavailableError extends Error {}

/** yaml, loaded for the first YAML file (parseSettingsText): a failure says so, not that the file is not valid YAML. */
function yamlModules(): { yaml: typeof import('yaml'); util: typeof import('yaml/util') } {
  try {
    return { yaml: require('yaml') as typeof import('yaml'), util: require('yaml/util') as typeof import('yaml/util') };
  } catch (err) {
    throw new YamlUnavailableError(`a YAML file, but the module that reads YAML (yaml) cannot be loaded: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * A settings file's text (POLICY_FILE, MCP_SERVERS_FILE, CHAINS_FILE, OPENMCP_CONFIG), read as YAML
 * when its name ends in .yml/.yaml, else as JSON. Throws an Error whose message says what is wrong
 * (callers put the file's variable and path in front).
 *
 * JSON.parse keeps the last of two equal keys, so a `deny` list, a server's `env` or a chain's
 * `rpcUrl` written before a second one would be dropped without a word: JSON text naming a key
 * twice in one object is refused, naming the key and the second one's line (duplicateJsonKey, as
 * for proof files; YAML's parser refuses such keys itself).
 *
 * A key named `__proto__`, in JSON or YAML, is refused too, naming the object that holds it: both
 * parsers keep it as an own key, but the schemas that read these files (zod's `z.record`: a
 * server's `env` and `headers`, the `mcpServers` map, a policy's `budgets` and `methods`) copy
 * objects by assignment, which drops it without a word (protoKeyPath). So is a YAML alias inside
 * the node its anchor names, a value holding itself (refuseCycle).
 *
 * A leading byte order mark (a Windows editor's, PowerShell's) is dropped first: JSON.parse
 * refused such a file as "not valid JSON", the mark itself unseen (YAML's parser skips it).
 * @example parseSettingsText('a.json', '{"a": 1, "a": 2}') // throws: names "a" twice in one object (the second at line 1, column 10) …
 */
export function parseSettingsText(path: string, fileText: string): unknown {
  const text = withoutByteOrderMark(fileText);
  if (/\.ya?ml$/i.test(path)) {
    // yaml is loaded only for a YAML file: every process reads its settings through this module
    // (config.ts), and `openmcp mcp stdio` answers an MCP host only once its modules are loaded.
    const {
      yaml: { parseDocument },
      util: { warn },
    } = yamlModules();
    const doc = parseDocument(text);
    // As yaml's parse(): its warnings (an unknown tag, read as a plain string) still reach stderr.
    for (const w of doc.warnings) warn(doc.options.logLevel, w);
    if (doc.errors.length) throw doc.errors[0];
    refuseCycle(doc);
    return refuseProtoKey(doc.toJS());
  }
  const parsed = JSON.parse(text) as unknown;
  const twice = duplicateJsonKey(text);
  if (twice) {
    throw new RefusedKeyError(
      `${duplicateJsonKeyText(twice)}: JSON keeps only the last, so the first would be silently dropped; write it once`,
    );
  }
  return refuseProtoKey(parsed);
}

/**
 * An alias inside the node its anchor names (`a: &x {b: *x}`) makes a value that holds itself: no
 * setting can be one, and the checks walking a settings file (lone surrogates) would overflow the
 * stack on it, naming neither the variable nor the file.
 */
function refuseCycle(doc: Document): void {
  const { visit } = yamlModules().yaml;
  visit(doc, {
    Alias(_, alias, path) {
      const target = alias.resolve(doc);
      if (target && path.includes(target)) {
        throw new Error(`the alias *${alias.source} is inside the node its anchor &${alias.source} names: the value would hold itself; write it out`);
      }
    },
  });
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
  return readSettingsDocument(path, variable).doc;
}

/**
 * readSettingsFile, with the text it parsed: for refusals that say where in the file a value is
 * written (settingsProblemsText), without reading the file a second time.
 * @example const { doc, text } = readSettingsDocument(path, 'MCP_SERVERS_FILE')
 */
export function readSettingsDocument(path: string, variable: string): { doc: unknown; text: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${variable} ${path}: cannot read: ${(err as Error).message}`, { variable });
  }
  try {
    return { doc: parseSettingsText(path, text), text };
  } catch (err) {
    const problem = err instanceof RefusedKeyError || err instanceof YamlUnavailableError ? err.message : `not valid JSON/YAML: ${withLineAndColumn((err as Error).message, text)}`;
    throw new ConfigError(`${variable} ${path}: ${problem}`, { variable });
  }
}

/**
 * JSON.parse's message with the line and column of the `position` it names (Node 20 gives only the
 * character offset: "at position 52", which nobody can find in an editor). A message that names a
 * line already (Node 22, YAML's parser) is kept as it is.
 * @example withLineAndColumn('Unexpected token } in JSON at position 4', '{\n"a"}') // '… at position 4 (line 2, column 4)'
 */
function withLineAndColumn(message: string, text: string): string {
  // V8's excerpt of the text (`Unexpected token 'x', ..."ateKey": x0ac09"... is not valid JSON`) may be a secret's (CHAINS_FILE's privateKey).
  message = message.replace(/, (?:\.\.\.)?"[\s\S]*"(?:\.\.\.)? is not valid JSON$/, ' (not valid JSON)');
  // So may YAML's, the line in error under its line and column (`… at line 4, column 38:\n\n    wallet: { privateKey: "0x… }\n^`):
  // a CHAINS_FILE privateKey, a value under an MCP_SERVERS_FILE entry's env or headers. The line and column stay.
  message = message.replace(/(at line \d+, column \d+):\n\n[\s\S]*$/, '$1');
  const m = /at position (\d+)/.exec(message);
  if (!m || /\bline\b/.test(message)) return message;
  const before = withoutByteOrderMark(text).slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${message} (line ${line}, column ${column})`;
}
