/** Separator between server and tool in a namespaced tool name: `github__create_issue`. */
export const TOOL_NAME_SEPARATOR = '__';

export function namespacedToolName(server: string, tool: string): string {
  return `${server}${TOOL_NAME_SEPARATOR}${tool}`;
}

/** Split at the first separator (server names cannot contain `__`); undefined if there is none. */
export function splitToolName(name: string): { server: string; tool: string } | undefined {
  const i = name.indexOf(TOOL_NAME_SEPARATOR);
  if (i <= 0 || i + TOOL_NAME_SEPARATOR.length >= name.length) return undefined;
  return { server: name.slice(0, i), tool: name.slice(i + TOOL_NAME_SEPARATOR.length) };
}
