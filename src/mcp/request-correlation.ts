import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';

/**
 * The HTTP request's id, carried to the MCP request handlers so the events a tools/call appends
 * have it as their correlationId (docs/errors.md), as REST commands do. The SDK hands a handler
 * only the request's headers (the caller's `x-request-id`, which may have been refused for
 * another, generated id) and its `authInfo`: the id rides in `authInfo.extra`. No credential is
 * put there; the caller was authenticated before, by the plugin.
 * @example transport.handleRequest(Object.assign(request.raw, { auth: correlationAuthInfo(request.id) }), reply.raw, body)
 */
export function correlationAuthInfo(requestId: string): AuthInfo {
  return { token: '', clientId: '', scopes: [], extra: { requestId } };
}

/** The request id `correlationAuthInfo` put in a handler's `extra`, if any (none over stdio). */
export function correlationIdOf(extra: { authInfo?: AuthInfo }): string | undefined {
  const id = extra.authInfo?.extra?.requestId;
  return typeof id === 'string' ? id : undefined;
}
