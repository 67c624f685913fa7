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

/** The tool filters as the read model takes them: a server's name and an upstream's own tool name, or readings of which any matches. */
export type ToolCallNameFilter = { server?: string; tool?: string; anyOf?: { server?: string; tool: string }[] };

/**
 * The filters as the read model takes them (the server's name, the upstream's own tool name). A
 * `tool` that reads as a served name (`<server>__<tool>`, or `served`, what the tenant's catalog
 * serves by it: an alias) matches the calls of that tool, and those of a tool whose own name it is
 * (an upstream's own name may hold `__`: `tool` meant only that before); with a `server` given, only
 * the readings of that server (server and own name, as before, when the served one names another).
 * @example toolNameFilter({ tool: 'examples__echo' }).anyOf // [{ server: 'examples', tool: 'echo' }, { tool: 'examples__echo' }]
 */
export function toolNameFilter(f: ToolNameFilter, served?: { server: string; tool: string }): ToolCallNameFilter {
  if (f.tool === undefined) return { server: f.server };
  const split = served ?? servedToolName(f.tool);
  const own = f.server === undefined ? { tool: f.tool } : { server: f.server, tool: f.tool };
  if (!split || (f.server !== undefined && f.server !== split.server)) return own;
  return { anyOf: [{ server: split.server, tool: split.tool }, own] };
}
