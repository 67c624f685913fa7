/** Whether a request's URL is the MCP gateway's (`/mcp`), which answers its refusals in JSON-RPC rather than as problems (docs/errors.md). */
export function isMcpUrl(url: string): boolean {
  return /^\/mcp(?:[/?]|$)/.test(url);
}

/**
 * A refusal as `/mcp` words the ones it makes before the MCP server sees a request (its gateway
 * plugin's rpcError): a JSON-RPC error with the stable code of docs/errors.md in `error.data.code`.
 * @example mcpRefusal('MALFORMED_REQUEST', 'headers.host: …').error.data.code === 'MALFORMED_REQUEST'
 */
export function mcpRefusal(code: string, message: string) {
  return { jsonrpc: '2.0' as const, error: { code: -32001, message, data: { code } }, id: null };
}
