import { isWellFormedDeep } from './well-formed';

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * The first UTF-16 surrogate without its pair in `value`'s strings or keys, with its path, if any.
 * JSON may escape one (`"\ud800"`), but it is no Unicode character: RFC 8785 hashes UTF-8, which
 * cannot encode it, so an event holding one has a hash only JavaScript's JSON.stringify reproduces.
 * Requires a value no deeper than the caller's depth limit (bodyDepth) — the walk is recursive.
 * `field` is the path as a message names it: dotted, a key holding the surrogate written out as
 * `\udXXX`, so the message that quotes it is itself Unicode text (recordable, readable by strict
 * JSON parsers).
 * @example loneSurrogateIn({ a: ['ok', 'x\ud800'] }) // { path: ['a', 1], field: 'a.1', unit: 'ud800' }
 */
export function loneSurrogateIn(value: unknown, path: (string | number)[] = []): { path: (string | number)[]; field: string; unit: string } | undefined {
  // Every REST body and tools/call's arguments are checked: the native scan first (a 100 KB body
  // in well under a millisecond), the walk that builds paths only when there is one to name.
  const found = isWellFormedDeep(value) ? undefined : findLone(value, path);
  return found && { ...found, field: found.path.map((p) => (typeof p === 'string' ? escapeLoneSurrogates(p) : p)).join('.') };
}

function findLone(value: unknown, path: (string | number)[]): { path: (string | number)[]; unit: string } | undefined {
  const lone = (s: string) => (s.isWellFormed() ? undefined : LONE_SURROGATE.exec(s)?.[0].charCodeAt(0).toString(16));
  if (typeof value === 'string') {
    const unit = lone(value);
    return unit ? { path, unit: `u${unit}` } : undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const isArray = Array.isArray(value);
  for (const [k, v] of Object.entries(value)) {
    const at = [...path, isArray ? Number(k) : k];
    const unit = isArray ? undefined : lone(k);
    if (unit) return { path: at, unit: `u${unit}` };
    const found = findLone(v, at);
    if (found) return found;
  }
  return undefined;
}

/**
 * `s` with each lone surrogate written out as the text `\udXXX`, so that `s` can be quoted in an
 * answer or a log line that must itself be Unicode text; surrogate pairs are left as they are.
 * @example escapeLoneSurrogates('k\udc00 😀') // 'k\\udc00 😀'
 */
export function escapeLoneSurrogates(s: string): string {
  return s.replace(new RegExp(LONE_SURROGATE.source, 'g'), (u) => `\\u${u.charCodeAt(0).toString(16)}`);
}

/**
 * Why a configuration document (a file of ours: MCP_SERVERS_FILE, POLICY_FILE, CHAINS_FILE) cannot
 * be used, when it holds a lone surrogate: `<path>: a lone UTF-16 surrogate (\ud800) …`. Its text
 * reaches events (a server's name and command, a rule's reason), and the operator can fix the
 * file, so it is refused at start rather than changed.
 * @example loneSurrogateProblem({ servers: [{ name: 'a\ud800' }] }) // 'servers.0.name: a lone UTF-16 surrogate (\\ud800) is not Unicode text, which event hashes need (RFC 8785)'
 */
export function loneSurrogateProblem(doc: unknown): string | undefined {
  const lone = loneSurrogateIn(doc);
  if (!lone) return undefined;
  return `${lone.field || '(root)'}: a lone UTF-16 surrogate (\\${lone.unit}) is not Unicode text, which event hashes need (RFC 8785)`;
}
