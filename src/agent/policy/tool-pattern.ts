/**
 * Whether a tools pattern (`allow`, `deny`) or budget key can match any tool name at all. Every
 * tool the runtime decides on is `<server>__<tool>`: the server's registered name (lowercase
 * letters, digits and `-`; `_` too in registrations of older releases) then `__`. A pattern that
 * no such name fits (`Examples__now`, `examples.now`, ` examples__*`) matches nothing: as a deny
 * it stops nothing, as a budget it bounds nothing, and the file would say what its author did not mean.
 * `*` matches any run of characters, so only the text before the first `*` must start a tool name.
 * @example canNameATool('examples__*') === true; canNameATool('Examples__now') === false
 */
export function canNameATool(pattern: string): boolean {
  const star = pattern.indexOf('*');
  if (star === -1) return /^[a-z][a-z0-9_-]{0,62}__[\s\S]+$/.test(pattern);
  const prefix = pattern.slice(0, star);
  return prefix === '' || /^[a-z][a-z0-9_-]*(__[\s\S]*)?$/.test(prefix);
}

export const NAMES_NO_TOOL =
  'names no tool: tool names are <server>__<tool>, the server part in lowercase letters, digits and - as registered (e.g. examples__echo, examples__*)';
