import type { McpHealthCause } from './mcp.events';

/*
 * McpServerHealthChanged in words, for every reader of the event (the gateway's catalog, the
 * rm_mcp_servers projection, REST, the CLI): a v1 `reason` as recorded, a v2 `cause` described.
 */

const ERRNO_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'the connection was reset',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name could not be resolved (try again)',
  ETIMEDOUT: 'the connection timed out',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
};

/**
 * A cause in words, for the server's health reason (REST, the CLI, the read model).
 * @example healthCauseText({ kind: 'http-status', httpStatus: 401 }) // 'the upstream answered HTTP 401'
 */
export function healthCauseText(c: McpHealthCause): string {
  const errno = c.errno ? ` (${c.errno})` : '';
  switch (c.kind) {
    case 'circuit-open':
      return 'circuit opened';
    case 'timeout':
      return c.timeoutMs !== undefined ? `no answer within ${c.timeoutMs} ms` : 'no answer in time';
    case 'exited':
      return c.signal ? `the process was ended by ${c.signal}` : c.exitCode !== undefined ? `the process exited with code ${c.exitCode}` : 'the process exited';
    case 'spawn-failed':
      return `the process could not be started${errno}`;
    case 'connection-closed':
      return 'the connection closed';
    case 'unreachable':
      return c.errno && ERRNO_TEXT[c.errno] ? `${ERRNO_TEXT[c.errno]}${errno}` : `the upstream could not be reached${errno}`;
    case 'http-status':
      return `the upstream answered HTTP ${c.httpStatus ?? '(no status)'}`;
    case 'protocol-error':
      return `the upstream answered JSON-RPC error ${c.rpcCode ?? '(no code)'}`;
    case 'variable-unset':
      return `environment variable ${c.variable ?? '(unnamed)'} is not set on this gateway`;
    case 'variable-unusable':
      return `environment variable ${c.variable ?? '(unnamed)'} holds a character it cannot be used with`;
    case 'other':
      return 'an unclassified failure';
  }
}

/**
 * What stands in a server's health reason for the text a v2 event kept out of the log. It names
 * no policy: v2 is recorded under hash-only and encrypted alike, and the event does not say which.
 */
export const WITHHELD_SUFFIX = ' (details withheld by the payload policy)';

/**
 * A server's health reason as readers show it (REST, the CLI, the read model), from the data of
 * McpServerHealthChanged of either version: v1's (or v2's) `reason`, or v2's `cause` in words.
 * @example healthReasonOf({ status: 'down', cause: { kind: 'exited', exitCode: 7 } }) // 'the process exited with code 7 (details withheld by the payload policy)'
 */
export function healthReasonOf(data: Record<string, unknown>): string | undefined {
  if (typeof data.reason === 'string') return data.reason;
  const cause = data.cause as McpHealthCause | undefined;
  return cause ? `${healthCauseText(cause)}${WITHHELD_SUFFIX}` : undefined;
}
