import { splitToolName } from '../core/tool-name';

/** A registered server's name: lowercase letters, digits and `-` (`_` too in registrations of older releases). */
const SERVER_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

export type ToolNameFilter = { server?: string; tool?: string };

/**
 * `tool` read as the name the gateway serves, `<server>__<tool>` (as /mcp, the dashboard and a task's
 * steps show it), split at its first `__` (server names hold none); undefined for an upstream's own
 * name (no `__`, or a part before it that no server can be named).
 * @example servedToolName('examples__echo') // { server: 'examples', tool: 'echo' }
 */
export function servedToolName(tool: string | undefined): { server: string; tool: string } | undefined {
  const split = tool === undefined ? undefined : splitToolName(tool);
  return split && SERVER_NAME.test(split.server) ? split : undefined;
}

/**
 * Why `server` contradicts a `tool` given as the name the gateway serves, or undefined: such a name
 * names its server itself, and another one would list nothing, without a word.
 */
export function toolNameConflict(f: ToolNameFilter): string | undefined {
  const served = servedToolName(f.tool);
  if (!served || f.server === undefined || f.server === served.server) return undefined;
  return `${f.tool} names the tool ${served.tool} of server ${served.server} (<server>__<tool>, as the gateway serves it), but server is ${f.server}: ` +
    `leave server out, or give the tool's own name (${served.tool}); for a tool of ${f.server} named ${f.tool}, give tool=${f.server}__${f.tool}`;
}

/**
 * The filters as the read model takes them (the server's name, the upstream's own tool name): a
 * `tool` given as `<server>__<tool>` split into the two. Requires no toolNameConflict.
 * @example toolNameFilter({ tool: 'examples__echo' }) // { server: 'examples', tool: 'echo' }
 */
export function toolNameFilter(f: ToolNameFilter): ToolNameFilter {
  const served = servedToolName(f.tool);
  return served ? { server: served.server, tool: served.tool } : { server: f.server, tool: f.tool };
}
