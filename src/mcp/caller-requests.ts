import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  type ClientCapabilities,
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode,
  McpError,
  type CreateMessageRequest,
  type CreateMessageResult,
  type CreateMessageResultWithTools,
  type ElicitRequest,
  type ElicitResult,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';
import type { CallStreams } from './call-streams';
import { passedOn, wireError } from './wire-error';

/** A request an upstream makes of its client that the gateway relays to the client that made the call. */
export type CallerRequest = CreateMessageRequest | ElicitRequest;
export type CallerResult = CreateMessageResult | CreateMessageResultWithTools | ElicitResult;

/**
 * Sends `request` to the MCP client that made a tools/call, tied to that call (on /mcp, the
 * call's own answer stream), and resolves with its answer; rejects with the client's error, or a
 * refusal (`callerRequestRefused`) when the client cannot take it. `signal` aborts when the call
 * ends or the upstream withdraws its request; `timeout` (ms) is the call's longest possible life.
 */
export type AskCaller = (request: CallerRequest, options: { signal: AbortSignal; timeout: number }) => Promise<CallerResult>;

/** Why a request was not relayed (`error.data.reason`). */
export type RefusalReason = 'capability' | 'no-call' | 'ambiguous' | 'shared' | 'no-client' | 'ended' | 'gone' | 'task';

/** The refusals made here, passed on as they are (a client's own error is passed on as it answered). */
const refusals = new WeakSet<McpError>();

/**
 * The gateway's answer to an upstream's request it does not relay, with the method named in the
 * message and `MCP_CLIENT_REQUEST_REFUSED` in `data.code` (docs/errors.md).
 */
export function callerRequestRefused(method: string, reason: RefusalReason, why: string, code: number = ErrorCode.InvalidRequest): McpError {
  const e = wireError(code, `${method}: ${why}`, { code: 'MCP_CLIENT_REQUEST_REFUSED', reason });
  refusals.add(e);
  return e;
}

/**
 * A tools/call in flight on one upstream connection: the client it runs on, whom to ask (none
 * for a call that came from no MCP client: an agent's step), `ended` (ends when the call
 * ends, however) and the call's longest possible life (ms).
 */
export type ActiveCall = { client: Client; ask?: AskCaller; ended: CallEnd; timeout: number };

/**
 * The end of a tools/call, as a signal made only when a relayed request needs one: every call
 * has an end, few relay anything, and an AbortController with its abort costs ~10–20 µs of CPU
 * here (bench/gateway.bench.ts measures calls of ~100 µs).
 */
export class CallEnd {
  private controller?: AbortController;
  private over = false;

  /** Aborted when the call ends (already aborted when asked for after it ended). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.over) this.controller.abort();
    }
    return this.controller.signal;
  }

  get ended(): boolean {
    return this.over;
  }

  end(): void {
    this.over = true;
    this.controller?.abort();
  }
}

/**
 * Ties an upstream's sampling/createMessage and elicitation/create to the tools/call they were
 * made for, and relays them to its caller. Nothing in a request names the call it belongs to;
 * what does: over streamable HTTP, a request made with the call (the SDK's `extra.sendRequest`)
 * travels on that call's own SSE answer stream (CallStreams). Anything else (stdio, SSE, a
 * streamable HTTP server's GET stream) could be any call's: it is relayed only when the upstream
 * is the tenant's own (not shared) and exactly one call is in flight on the connection; otherwise
 * it is refused, never guessed.
 *
 * @example
 * const requests = new CallerRequests({ shared: false });
 * requests.install(client, streams); // streams: the connection's CallStreams (streamable HTTP only)
 * await requests.within({ client, ask, ended: new CallEnd(), timeout }, () => client.callTool({ name: 'read' }));
 */
export class CallerRequests {
  private readonly active = new Set<ActiveCall>();
  private readonly streams = new WeakMap<Client, CallStreams<ActiveCall>>();

  /** `shared`: the upstream is a shared server (tenant `*`), whose calls come from every tenant. */
  constructor(private readonly upstream: { shared: boolean }) {}

  /**
   * Answer `client`'s sampling/createMessage and elicitation/create by relaying them (declare
   * both capabilities on it). `streams`: its connection's, when its transport gives each call an
   * answer stream of its own (streamable HTTP).
   */
  install(client: Client, streams?: CallStreams<ActiveCall>): void {
    if (streams) this.streams.set(client, streams);
    client.setRequestHandler(CreateMessageRequestSchema, (request, extra) => this.relay(client, request, extra.requestId, extra.signal) as Promise<CreateMessageResult>);
    client.setRequestHandler(ElicitRequestSchema, (request, extra) => this.relay(client, request, extra.requestId, extra.signal) as Promise<ElicitResult>);
  }

  /** Run `send`, which sends the tools/call of `call` on `call.client`: requests the upstream makes meanwhile may be relayed to its caller. */
  within<T>(call: ActiveCall, send: () => Promise<T>): Promise<T> {
    this.active.add(call);
    const streams = this.streams.get(call.client);
    let sent: Promise<T>;
    try {
      sent = streams ? streams.start(call, send) : send();
    } catch (err) {
      this.active.delete(call);
      throw err;
    }
    return sent.finally(() => this.active.delete(call));
  }

  private async relay(client: Client, request: CallerRequest, id: RequestId, withdrawn: AbortSignal): Promise<CallerResult> {
    const { method } = request;
    if (request.params.task) throw callerRequestRefused(method, 'task', 'task-augmented requests are not relayed (the gateway declares no tasks capability)', ErrorCode.InvalidParams);
    const call = this.callOf(client, method, id);
    if (!call.ask) throw callerRequestRefused(method, 'no-client', 'the tools/call that asked came from no MCP client (an agent task’s step): there is nobody to ask');
    const signal = AbortSignal.any([withdrawn, call.ended.signal]);
    try {
      return await call.ask(request, { signal, timeout: call.timeout });
    } catch (err) {
      if (call.ended.ended && !withdrawn.aborted) throw callerRequestRefused(method, 'ended', 'the tools/call it was made for has ended (answered, timed out or cancelled); the request was cancelled at the client');
      if (err instanceof McpError) throw refusals.has(err) ? err : passedOn(err);
      throw callerRequestRefused(method, 'gone', `the MCP client that made the tools/call cannot be reached (${err instanceof Error ? err.message : String(err)})`.slice(0, 500));
    }
  }

  /** The call request `id` of `client` belongs to, or the refusal that says why none can be named. */
  private callOf(client: Client, method: string, id: RequestId): ActiveCall {
    const sentWith = this.streams.get(client)?.take(id);
    if (sentWith) {
      if (!this.active.has(sentWith)) throw callerRequestRefused(method, 'ended', 'the tools/call it was sent with has ended');
      return sentWith;
    }
    if (this.upstream.shared) {
      throw callerRequestRefused(
        method,
        'shared',
        'this server is shared by every tenant of the gateway, and the request came apart from any call’s own answer stream (over stdio, SSE, or a streamable HTTP GET stream nothing says which call it is for): refused rather than risk asking another tenant. Serve it over streamable HTTP and send the request with the call (extra.sendRequest), or register it for one tenant',
      );
    }
    const calls = [...this.active].filter((c) => c.client === client);
    if (calls.length === 1) return calls[0];
    if (calls.length === 0) throw callerRequestRefused(method, 'no-call', 'no tools/call is in progress on this upstream connection: the gateway relays sampling and elicitation only to the client of the call that asks, while it runs');
    throw callerRequestRefused(
      method,
      'ambiguous',
      `${calls.length} calls are in progress on this upstream connection and the request came apart from any call’s own answer stream, so nothing says which one asked: refused rather than ask the wrong caller. Over streamable HTTP, send the request with the call (extra.sendRequest)`,
    );
  }
}

/**
 * Why the client whose `capabilities` these are cannot take `request`, or undefined when it can:
 * as the SDK's Server checks before sending one (sampling; sampling.tools for a request with
 * tools; elicitation, in the request's mode, form when none is given).
 */
export function callerCannotTake(capabilities: ClientCapabilities | undefined, request: CallerRequest): McpError | undefined {
  const { method } = request;
  const lacks = (what: string, code: number = ErrorCode.MethodNotFound) =>
    callerRequestRefused(method, 'capability', `the MCP client that called this tool through the gateway did not declare the ${what} capability`, code);
  if (request.method === 'sampling/createMessage') {
    if (!capabilities?.sampling) return lacks('sampling');
    if ((request.params.tools || request.params.toolChoice) && !capabilities.sampling.tools) return lacks('sampling.tools', ErrorCode.InvalidParams);
    return undefined;
  }
  const elicitation = capabilities?.elicitation;
  if (!elicitation) return lacks('elicitation');
  const mode = request.params.mode ?? 'form';
  // A client that declared neither mode takes forms (the capability before modes existed).
  const takes = mode === 'url' ? elicitation.url !== undefined : elicitation.form !== undefined || elicitation.url === undefined;
  return takes ? undefined : lacks(`elicitation.${mode}`, ErrorCode.InvalidParams);
}
