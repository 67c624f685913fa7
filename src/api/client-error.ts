import type { Socket } from 'node:net';
import { STATUS_CODES, type ServerResponse } from 'node:http';
import { newId } from '../core/ids';
import { problemOf } from './problem';

/**
 * The whole HTTP answer to a request node's parser refused before fastify saw it (its
 * `clientError`): a problem like every other error (docs/errors.md), not fastify's own
 * `{"error","message","statusCode"}`. 408 REQUEST_TIMEOUT for headers that did not all come in
 * time (node's headersTimeout; fastify turns requestTimeout, the body's, off); 431 MALFORMED_REQUEST for headers over node's limit (16 KiB); 400 MALFORMED_REQUEST for
 * anything else (not HTTP, conflicting Content-Length). The connection is closed after it.
 * @example socket.end(clientErrorResponse(err.code, newId()))
 */
export function clientErrorResponse(code: string | undefined, requestId: string): string {
  const { status, code: problemCode, detail } =
    code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? { status: 408, code: 'REQUEST_TIMEOUT', detail: 'the request did not arrive in time' }
      : code === 'HPE_HEADER_OVERFLOW'
        ? { status: 431, code: 'MALFORMED_REQUEST', detail: 'request headers over 16 KiB' }
        : { status: 400, code: 'MALFORMED_REQUEST', detail: 'not an HTTP request this server can read' };
  const body = JSON.stringify(problemOf(status, problemCode, detail, { requestId }));
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nConnection: close\r\n\r\n${body}`
  );
}

/** Sockets whose refusal is decided: the parser reports an error again for each later chunk. */
const refused = new WeakSet<Socket>();

/**
 * Runs `then` once no answer to an earlier, whole request is in flight on `socket`. Node answers
 * pipelined requests in order and writes the current one through `socket._httpMessage` (the rest
 * wait in its queue): a refusal written before them would be read as the answer to an earlier,
 * valid request. A request not yet whole (its body still coming) is the refused one: its body is
 * what the parser could not read, and its answer would never come, so `then` runs at once.
 */
function whenAnswered(socket: Socket, then: () => void): void {
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (!inFlight || !inFlight.req?.complete) return then();
  inFlight.once('finish', () => setImmediate(() => whenAnswered(socket, then)));
}

/**
 * fastify's `clientErrorHandler`: answers with clientErrorResponse, after the answers to any
 * requests pipelined before the refused one, then closes the socket. A reset connection, or one
 * already gone, gets nothing (nobody to read it).
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket, onError?: (code: string, status: number) => void): void {
  if (err.code === 'ECONNRESET' || socket.destroyed || refused.has(socket)) return;
  refused.add(socket);
  const answer = clientErrorResponse(err.code, newId());
  onError?.(answer.slice(answer.indexOf('"code":"') + 8).split('"')[0], Number(answer.slice(9, 12)));
  whenAnswered(socket, () => {
    if (socket.destroyed) return;
    if (socket.writable) socket.write(answer);
    socket.destroy(err);
  });
}
