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

/**
 * Why `pattern` is refused, and what to write: the pattern with its server part in lowercase when
 * that names a tool (`Examples__now` → `examples__now`).
 * @example namesNoTool('Examples__now') // '"Examples__now" names no tool: … did you mean "examples__now"?'
 */
export function namesNoTool(pattern: string): string {
  const quoted = JSON.stringify(pattern.length > 100 ? `${pattern.slice(0, 100)}…` : pattern);
  const lower = pattern.replace(/^[\s\S]*?(?=__|\*|$)/, (server) => server.toLowerCase());
  const hint = lower !== pattern && canNameATool(lower) ? `: did you mean ${JSON.stringify(lower)}?` : ': write it so';
  return `${quoted} names no tool: tool names are <server>__<tool>, the server's registered name (lowercase letters, digits and -), then __, then the tool's exact name (e.g. examples__echo, examples__*)${hint}`;
}
