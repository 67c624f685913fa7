import { McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * An McpError whose message on the wire is `message` itself. The SDK sends `error.message`, and
 * McpError's reads "MCP error <code>: <message>", which the receiving SDK prefixes once more.
 * @example wireError(-32602, 'search_tools: query (a string) is required', { code: 'VALIDATION_FAILED' })
 */
export function wireError(code: number, message: string, data?: unknown): McpError {
  const e = new McpError(code, message, data);
  e.message = message;
  return e;
}

/**
 * An McpError received from the other side, to be passed on as it was answered: its code, data
 * and message without the prefix its McpError added ("MCP error <code>: ").
 */
export function passedOn(err: McpError): McpError {
  const prefix = `MCP error ${err.code}: `;
  return wireError(err.code, err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message, err.data);
}
