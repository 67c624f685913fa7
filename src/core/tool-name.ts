import { createHash } from 'node:crypto';

/** Separator between server and tool in a namespaced tool name: `github__create_issue`. */
export const TOOL_NAME_SEPARATOR = '__';

/**
 * What LLM hosts accept as a tool (function) name: OpenAI refuses a whole request with 400 when
 * one tool's name does not match, Anthropic's rule is the same. MCP allows far more (dots,
 * slashes, spaces, up to 128 or more characters), so a namespaced name may not pass.
 */
export const HOST_SAFE_TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

/** Hex digits of the digest an alias ends with, unless the catalog needs more to keep names unique. */
export const ALIAS_HASH_DIGITS = 8;

export function namespacedToolName(server: string, tool: string): string {
  return `${server}${TOOL_NAME_SEPARATOR}${tool}`;
}

/**
 * The host-safe alias of `<server>__<tool>`: the namespaced name with every character outside
 * `[a-zA-Z0-9_-]` replaced by `_`, cut to leave room for `_` and the first `digits` hex digits of
 * SHA-256 over the UTF-8 bytes of the namespaced name (the upstream's exact tool name), which are
 * appended. A pure function of the two names, so every replica and restart derives the same.
 * Requires 1 <= digits <= 62.
 *
 * @example aliasToolName('files', 'read.file') // 'files__read_file_' + 8 hex digits
 */
export function aliasToolName(server: string, tool: string, digits = ALIAS_HASH_DIGITS): string {
  const full = namespacedToolName(server, tool);
  const digest = createHash('sha256').update(full, 'utf8').digest('hex').slice(0, digits);
  // Array.from: one `_` per code point, never half a surrogate pair.
  const readable = Array.from(full, (c) => (/[a-zA-Z0-9_-]/.test(c) ? c : '_')).join('').slice(0, 64 - 1 - digits);
  return `${readable}_${digest}`;
}

/** The name clients call: `<server>__<tool>` when hosts accept it (every name valid before aliases existed), else its alias. */
export function hostSafeToolName(server: string, tool: string): string {
  const full = namespacedToolName(server, tool);
  return HOST_SAFE_TOOL_NAME.test(full) ? full : aliasToolName(server, tool);
}

/** Split at the first separator (server names cannot contain `__`); undefined if there is none. */
export function splitToolName(name: string): { server: string; tool: string } | undefined {
  const i = name.indexOf(TOOL_NAME_SEPARATOR);
  if (i <= 0 || i + TOOL_NAME_SEPARATOR.length >= name.length) return undefined;
  return { server: name.slice(0, i), tool: name.slice(i + TOOL_NAME_SEPARATOR.length) };
}

/**
 * The tools a name no tool has misspells by its separator or case (`examples_echo`,
 * `Examples__Echo` for `examples__echo`), as a hint to end an error with; undefined when none.
 * @example didYouMean(['examples__echo'], 'examples_echo') // 'did you mean examples__echo? (tools are named <server>__<tool>, two underscores)'
 */
export function didYouMean(names: readonly string[], name: string): string | undefined {
  const loose = (n: string) => n.toLowerCase().replace(/[-_]/g, '');
  const meant = names.filter((n) => loose(n) === loose(name)).sort();
  return meant.length ? `did you mean ${meant.slice(0, 5).join(' or ')}? (tools are named <server>__<tool>, two underscores)` : undefined;
}
