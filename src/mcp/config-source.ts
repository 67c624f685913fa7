/**
 * The setting of a process's configuration that registers an MCP server at every start, and what
 * an operator changes so that it no longer does. A server with one is not removed over the API by
 * that process (it would come back at the next start); see McpGateway.ensureServer.
 */
export type ConfigSource = {
  /** What registers it, e.g. `OPENMCP_EXAMPLES=on`. */
  setting: string;
  /** What to change so that it is no longer registered, e.g. `delete that entry from the file`. */
  undo: string;
};

/** The bundled `examples` server while OPENMCP_EXAMPLES=on is set (unset, the default, is no source: registerExamples). */
export const EXAMPLES_SOURCE: ConfigSource = { setting: 'OPENMCP_EXAMPLES=on', undo: 'unset OPENMCP_EXAMPLES or set it off' };

/**
 * An entry of MCP_SERVERS_FILE. The file's path is not named: the message reaches API callers.
 * @example serversFileSource('files').setting === 'entry "files" of MCP_SERVERS_FILE'
 */
export function serversFileSource(entry: string): ConfigSource {
  return { setting: `entry ${JSON.stringify(entry)} of MCP_SERVERS_FILE`, undo: 'delete that entry from the file' };
}
