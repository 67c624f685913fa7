import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import type { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { ErrorCode, isJSONRPCRequest, JSONRPCMessageSchema, SUPPORTED_PROTOCOL_VERSIONS, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { CANCELLED_ERROR } from './cancelled-answer';
import { ReplayLog } from './replay-log';
import { ReplyStream } from './reply-stream';

/** A POST the fast path can answer, as the HTTP layer hands it over (body already parsed). */
export type FastPost = {
  headers: IncomingHttpHeaders;
  url: string;
  body: unknown;
  authInfo?: AuthInfo;
  /**
   * Whether the client takes an SSE stream as the answer (its Accept header: acceptedMedia).
   * Default true. When false its answer is always JSON: progress for it is dropped, and a request
   * for it tied to the call (a relayed sampling or elicitation) fails at once, as it cannot reach it.
   */
  streams?: boolean;
  /** Whether the client takes only an SSE stream (its Accept header names no JSON): every request is answered with one. */
  sseOnly?: boolean;
};

/**
 * What to answer: 202 for notifications and responses, 200 with the JSON-RPC response for a
 * request, or 200 with an SSE stream (`text/event-stream`) for a request that asked for progress
 * or during which the server sent the client a request of its own.
 */
export type FastReply = { status: 202 } | { status: 200; body: string } | { status: 200; stream: Readable };

/**
 * A request awaiting its response; `notify` takes the messages tied to it (notifications, and
 * requests for the client) when it is, or turns out to be, answered over SSE; `drop` ends its HTTP response without one (the client cancelled it: none will come).
 */
type Pending = { deliver(message: JSONRPCMessage): void; notify?(message: JSONRPCMessage): boolean | void; drop(): void };

/** The part of the SDK's web-standard transport that holds its SSE streams (SDK 1.32). */
type SdkStreams = { _streamMapping?: Map<string, { controller?: ReadableStreamDefaultController }>; _standaloneSseStreamId?: string };

/** The protocol version from which a client expects a priming event (an id, no data) opening an SSE answer. */
const PRIMING_FROM = '2025-11-25';

/**
 * The transport of one /mcp session. Everything goes through the SDK's StreamableHTTPServerTransport
 * except the hot path, a single JSON-RPC message POSTed on an initialized session in JSON-response
 * mode, which `tryPost` hands straight to the server and answers with the server's response.
 * The SDK transport does the same work there, but through Web Request/Response objects and a
 * Node↔Web conversion layer that cost more than the gateway's own work per call. Anything the fast
 * path does not fully check (batches, bad Accept or protocol-version headers, invalid messages,
 * a repeated in-flight id) returns undefined and goes to the SDK transport, which answers it.
 * The fast path's SSE answers (ReplyStream) record their events in the replica's ReplayLog, as
 * the SDK transport records its own there: a client whose stream drops resumes it (`resume`).
 */
export class SessionTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  private readonly pending = new Map<RequestId, Pending>();
  /** Requests handed on by the SDK transport (batches, and what the fast path leaves it), until answered. */
  private readonly viaSdk = new Set<RequestId>();
  /** The fast path's SSE answers, by stream id, while running and then while the log holds their events (resume). */
  private readonly replies = new Map<string, ReplyStream>();
  private closed = false;
  private getStreamEndedAt = -Infinity;

  /**
   * `jsonResponses`: the SDK transport was made with `enableJsonResponse` (it answers POSTs it
   * handles itself with JSON, and drops the requests for the client tied to them).
   * `log`: where the SSE answers of the fast path record their events, for resumption, counted to
   * `owner` (the session's tenant); the SDK transport should be made with the same log's
   * `storeFor(sessionId, owner)` as its event store.
   */
  constructor(
    readonly sdk: StreamableHTTPServerTransport,
    private readonly jsonResponses = false,
    private readonly log: ReplayLog = new ReplayLog(),
    private readonly owner = '',
  ) {
    sdk.onmessage = (message, extra) => {
      if (isJSONRPCRequest(message)) this.viaSdk.add(message.id);
      this.receive(message, extra);
    };
    sdk.onerror = (error) => this.onerror?.(error);
    sdk.onclose = () => {
      this.closed = true;
      // Requests still running get an answer rather than a connection left hanging.
      for (const [id, { deliver }] of this.pending) deliver({ jsonrpc: '2.0', id, error: { code: ErrorCode.ConnectionClosed, message: 'session closed' } });
      this.pending.clear();
      this.replies.clear();
      if (this.sdk.sessionId !== undefined) this.log.forget(this.sdk.sessionId);
      this.onclose?.();
    };
  }

  get sessionId(): string | undefined {
    return this.sdk.sessionId;
  }

  /**
   * SSE events written to the session's GET stream that its HTTP response has not taken yet: the
   * response stops taking them while the client does not read (the socket is full), and the SDK
   * transport queues every later one in memory, heedless of that. 0 with no GET stream open
   * (the SDK drops what would go there).
   */
  /** Whether this replica holds the session's GET stream (log messages for it go nowhere else). */
  get hasGetStream(): boolean {
    const web = (this.sdk as unknown as { _webStandardTransport?: SdkStreams })._webStandardTransport;
    // Without the SDK's map (another SDK version), say yes: relaying is what happened before.
    return web?._streamMapping ? web._streamMapping.has(web._standaloneSseStreamId ?? '_GET_stream') : true;
  }

  /**
   * Whether what goes on the GET stream is worth sending: the stream is open here, or it was
   * until less than the replay window ago, so the client may yet resume it here and get it.
   */
  get reachesGetStream(): boolean {
    return this.hasGetStream || Date.now() - this.getStreamEndedAt < this.log.windowMs;
  }

  /**
   * Whether the event store records an event of SDK stream `stream`: not one of the GET stream
   * while it does not reach the client (never opened here, or dropped past the replay window).
   */
  keepsEvent(stream: string): boolean {
    const web = (this.sdk as unknown as { _webStandardTransport?: SdkStreams })._webStandardTransport;
    return stream !== (web?._standaloneSseStreamId ?? '_GET_stream') || this.reachesGetStream;
  }

  /** The GET stream this replica held has ended (its client may resume it with Last-Event-ID). */
  getStreamEnded(): void {
    this.getStreamEndedAt = Date.now();
  }

  get queuedOnGetStream(): number {
    // The SDK keeps the stream's controller to itself. Its ReadableStream has the default
    // strategy (a high-water mark of 1 event), so desiredSize is 1 − the events queued.
    const web = (this.sdk as unknown as { _webStandardTransport?: SdkStreams })._webStandardTransport;
    const size = web?._streamMapping?.get(web._standaloneSseStreamId ?? '_GET_stream')?.controller?.desiredSize;
    return typeof size === 'number' ? Math.max(0, 1 - size) : 0;
  }

  start(): Promise<void> {
    return this.sdk.start();
  }

  close(): Promise<void> {
    return this.sdk.close();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    const isResponse = 'id' in message && !('method' in message);
    const id = isResponse ? (message as { id: RequestId }).id : options?.relatedRequestId;
    if (isResponse) this.viaSdk.delete(id!);
    if (id !== undefined) {
      const pending = this.pending.get(id);
      if (pending) {
        if (isResponse) {
          this.pending.delete(id);
          pending.deliver(message);
        } else if (pending.notify?.(message) === false) {
          return Promise.reject(new Error('the client takes only JSON answers (its Accept header names no text/event-stream): no request tied to its call can reach it'));
        }
        return Promise.resolve();
      }
    }
    // The SDK transport in JSON-response mode drops a request tied to a request it answers (a
    // batch, say): failing says so at once, where it would wait for an answer that cannot come.
    if (this.jsonResponses && options?.relatedRequestId !== undefined && isJSONRPCRequest(message)) {
      return Promise.reject(new Error('its request came in a batch, answered as one JSON body: no request tied to it can reach it'));
    }
    const sent = this.sdk.send(message, options);
    if (options?.relatedRequestId === undefined || !('method' in message) || message.method !== 'notifications/cancelled') return sent;
    // The cancellation of a request for the client (a relayed sampling or elicitation) whose
    // client's own request has ended — the client cancelled it, its stream is gone: the session's
    // GET stream still reaches the client, else nothing would tell it to stop.
    return sent.catch(() => this.sdk.send(message));
  }

  /** Answer a POST on the fast path, or return undefined to let the SDK transport handle it. */
  async tryPost(post: FastPost): Promise<FastReply | undefined> {
    if (this.closed || this.sdk.sessionId === undefined) return undefined;
    const { headers, body } = post;
    const accept = headers.accept ?? '';
    if (!accept.includes('application/json') || !accept.includes('text/event-stream')) return undefined;
    if (!/^application\/json\s*(;|$)/i.test(headers['content-type'] ?? '')) return undefined;
    const version = headers['mcp-protocol-version'];
    if (version !== undefined && (typeof version !== 'string' || !SUPPORTED_PROTOCOL_VERSIONS.includes(version))) return undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
    const parsed = JSONRPCMessageSchema.safeParse(body);
    if (!parsed.success) return undefined;
    const message = parsed.data;
    if ('method' in message && message.method === 'initialize') return undefined;
    const requestInfo = { headers: headers as Record<string, string | string[] | undefined>, url: new URL(post.url, 'http://localhost') };
    if (!('method' in message && 'id' in message)) {
      this.receive(message, { authInfo: post.authInfo, requestInfo });
      return { status: 202 };
    }
    const id = message.id;
    if (this.pending.has(id)) return undefined;
    const streams = post.streams !== false;
    const stream = (): ReplyStream => this.replyStream(id, version);
    if (streams && (post.sseOnly || message.params?._meta?.progressToken !== undefined)) {
      // The caller asked for progress: answer over SSE, so its notifications reach it before the
      // response (the spec lets a server pick SSE per request; with JSON they would be lost).
      // A client taking only SSE gets every answer so.
      const reply = stream();
      this.pending.set(id, {
        notify: (m) => reply.write(m),
        deliver: (m) => {
          reply.write(m);
          reply.end();
        },
        drop: () => reply.end(),
      });
      this.onmessage?.(message, { authInfo: post.authInfo, requestInfo });
      return { status: 200, stream: reply.first };
    }
    const reply = new Promise<FastReply>((resolve) => {
      let sse: ReplyStream | undefined;
      this.pending.set(id, {
        deliver: (m) => {
          if (!sse) return resolve({ status: 200, body: JSON.stringify(m) });
          sse.write(m);
          sse.end();
        },
        // A request for the client tied to this one (an upstream's sampling or elicitation, relayed)
        // cannot wait for the JSON answer: from it on, the answer is an SSE stream (the spec lets
        // the server choose). Notifications before it have nowhere to go, as in JSON mode.
        notify: (m) => {
          if (!sse) {
            if (!isJSONRPCRequest(m)) return;
            if (!streams) return false;
            sse = stream();
            resolve({ status: 200, stream: sse.first });
          }
          sse.write(m);
        },
        drop: () => (sse ? sse.end() : resolve({ status: 202 })),
      });
    });
    this.onmessage?.(message, { authInfo: post.authInfo, requestInfo });
    return reply;
  }

  /**
   * Take up the fast path's SSE answer that event `lastEventId` belongs to (a GET with
   * Last-Event-ID): the events that followed it, then the rest as they come. Undefined when the
   * event is not one of those answers: one of the SDK transport's streams (the GET stream), which
   * the SDK replays from the same log, or an event the log does not hold (see `knows`).
   */
  resume(lastEventId: string): Readable | undefined {
    const session = this.sdk.sessionId;
    const stream = session === undefined ? undefined : this.log.streamOf(session, lastEventId);
    const reply = stream === undefined ? undefined : this.replies.get(stream);
    return reply?.resume(lastEventId);
  }

  /**
   * An answer the SDK transport wrote whole as JSON (initialize, a batch), for a client taking
   * only SSE: an SSE stream of `messages`, each event with an id recorded in the log as the fast
   * path's are, so that a client whose stream drops before it read them all resumes it (`resume`).
   * It opens with a priming event from protocol 2025-11-25 on: the `mcp-protocol-version` header,
   * or for initialize (which has none) the version its result agreed.
   * Requires the session to be initialized (it is once the SDK answered its initialize) and
   * `messages` to hold at least one response.
   */
  answerWhole(messages: JSONRPCMessage[], version: string | string[] | undefined): Readable {
    const agreed = (messages[0] as { result?: { protocolVersion?: unknown } }).result?.protocolVersion;
    // The request a resumed stream would say was cancelled had it no response: it has (all of them).
    const request = messages.map((m) => (m as { id?: unknown }).id).find((id): id is RequestId => typeof id === 'string' || typeof id === 'number');
    const reply = this.replyStream(request ?? '', version ?? (typeof agreed === 'string' ? agreed : undefined));
    for (const message of messages) reply.write(message);
    reply.end();
    return reply.first;
  }

  /** Whether `lastEventId` names an event the log still holds for this session (else nothing can be replayed after it). */
  knows(lastEventId: string): boolean {
    const session = this.sdk.sessionId;
    return session !== undefined && this.log.streamOf(session, lastEventId) !== undefined;
  }

  /**
   * A new SSE answer to request `id`; answers whose events the log no longer holds are let go,
   * oldest first up to the first still held: a look at each earlier answer, for every new one,
   * made a client taking only SSE cost the replica time growing with the square of its calls.
   */
  private replyStream(id: RequestId, version: string | string[] | undefined): ReplyStream {
    const session = this.sdk.sessionId!;
    for (const [key, old] of this.replies) {
      if (!old.done) continue;
      if (old.held) break;
      this.replies.delete(key);
    }
    const reply = new ReplyStream(this.log, { session, owner: this.owner }, id, typeof version === 'string' && version >= PRIMING_FROM);
    this.replies.set(reply.id, reply);
    return reply;
  }

  /**
   * A message for the server, from either path. A request the client cancels gets no response
   * (the server drops it, as the spec says), so its POST is ended here, without one: else it stayed
   * open, holding its socket and entry until the session closed.
   */
  private receive(message: JSONRPCMessage, extra: Parameters<NonNullable<Transport['onmessage']>>[1]): void {
    if ('method' in message && message.method === 'notifications/cancelled' && !('id' in message)) {
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      const pending = id === undefined ? undefined : this.pending.get(id);
      if (pending) {
        this.pending.delete(id!);
        pending.drop();
      }
      if (id !== undefined && this.viaSdk.delete(id)) {
        // The SDK transport ends a POST once every request in it is answered (a batch as one JSON
        // body), so one the client cancels would hold it open until the session closed. Answered
        // with an error after the server has dropped it, its POST ends; the client, having
        // cancelled, ignores the answer (as the spec asks of it).
        this.onmessage?.(message, extra);
        void this.sdk.send({ jsonrpc: '2.0', id, error: CANCELLED_ERROR }, { relatedRequestId: id }).catch(() => {});
        return;
      }
    }
    this.onmessage?.(message, extra);
  }
}
