/**
 * The JSON-RPC error answering a request its client cancelled, where an answer cannot be left out:
 * inside a batch, answered as one (over /mcp, the SDK's transport holds the POST until every
 * request in it is answered; over stdio, the array line waits for all). JSON-RPC has no code for
 * it; -32800 is the one LSP gives a cancelled request. A client that cancelled ignores it.
 */
export const CANCELLED_ERROR = { code: -32800, message: 'request cancelled by the client', data: { code: 'MCP_CALL_CANCELLED' } } as const;
