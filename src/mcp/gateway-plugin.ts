import { randomUUID } from 'node:crypto';
import { errorCodes, type FastifyInstance, type FastifyReply, type FastifyRequest, type onRequestHookHandler } from 'fastify';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Cache } from '../cache/port';
import { eventStreamsOf } from '../http/event-streams';
import { withoutByteOrderMark } from '../core/byte-order-mark';
import type { Actor } from '../core/envelope';
import type { McpGateway } from './gateway';
import { acceptedMedia } from './accepted-media';
import { corsHeaders, MCP_METHODS, preflightHeaders } from './cors';
import { createGatewayServer } from './gateway-server';
import { storeNothing } from './no-store';
import { originCheck, type OriginPolicy } from './origin-policy';
import { replayInitialize } from './replay-initialize';
import { ReplayLog, type ReplayWindow } from './replay-log';
import { sdkAnswerAsSse } from './sdk-answer-as-sse';
import { correlationAuthInfo } from './request-correlation';
import { endSession, loadLogLevel, loadSession, removeSession, saveLogLevel, saveSession, touchSession, type SessionRecord } from './session-directory';
import { SessionTransport } from './session-transport';

/**
 * Who calls. `expiresAt` (ms since the epoch): when the credential stops being accepted (a JWT's
 * exp plus the verifier's leeway); absent for credentials that do not expire (API keys).
 * `credential`: what tells the credential presented from another of the same actor (an API key's
 * hash), for `isRevoked`: a session keeps the one it was opened with, so a key whose value is
 * replaced under the same id (the bootstrap admin key) counts as revoked for the sessions opened
 * with the old value. Kept in this process only, never in the session directory.
 */
export type McpPrincipal = { tenant: string; actor: Actor; expiresAt?: number; credential?: string };

export type McpGatewayPluginOptions = {
  gateway: McpGateway;
  /**
   * The API's key check: who is calling, or null for a missing or bad key (→ 401). It may throw
   * an error with `status: 403` (a valid key whose role may not call tools), `status: 429` (a
   * rate limit; its `retryAfterSeconds` becomes Retry-After) or `status: 503` (the
   * key store unreachable: DEPENDENCY_UNAVAILABLE with its message and `Retry-After: 1`).
   * `headers`, on the principal or on a thrown 403 or 429, go on the request's answer, whoever
   * writes it (the RateLimit-* headers of the key's window: mcpAuthenticate).
   */
  authenticate(request: FastifyRequest): Promise<(McpPrincipal & { headers?: Record<string, string> }) | null>;
  /**
   * Which browser pages may call and under which Host names (DNS rebinding; src/mcp/origin-policy.ts).
   * A request it refuses gets 403 before anything else is done; the pages it allows get CORS
   * answers (src/mcp/cors.ts). Default: pages of the gateway's own origin only, any Host
   * (main.ts passes HOST, MCP_ALLOWED_ORIGINS and MCP_ALLOWED_HOSTS).
   */
  origins?: OriginPolicy;
  /** Route path. Default `/mcp`. */
  path?: string;
  /** Answer POSTs with application/json instead of an SSE stream (faster; notifications go to the GET stream). Default true. */
  enableJsonResponse?: boolean;
  /**
   * How much of the SSE events sent this replica keeps for clients that resume a dropped stream
   * (a GET with `Last-Event-ID`), all sessions together. Default 32 MiB, 5 min (ReplayLog).
   */
  replayWindow?: ReplayWindow;
  /** Sessions idle this long are closed. Default 30 min. */
  sessionIdleMs?: number;
  /**
   * Sessions one identity (tenant and actor) may hold on this replica; opening or adopting one
   * more ends its least recently used (its client gets 404 and initializes again). An idle session
   * costs some 30 KiB, and clients that open a session per task without DELETE are common. Default 100.
   */
  maxSessionsPerIdentity?: number;
  /**
   * Sessions one tenant, all its identities together, may hold on this replica
   * (MCP_MAX_SESSIONS_PER_TENANT); opening or adopting one more ends the tenant's least recently
   * used, as above. Without it a tenant's keys (MAX_API_KEYS_PER_TENANT) and JWT subjects (no
   * bound at all) each bring `maxSessionsPerIdentity` more. Default 1000 (some 30 MiB).
   */
  maxSessionsPerTenant?: number;
  /**
   * The session directory shared by the replicas (Redis in production). A replica that does not
   * know a request's session looks it up there and adopts it, so any replica serves any session.
   * Without it a session lives only in the process that opened it (elsewhere: 404).
   */
  cache?: Cache;
  /** A used session's directory entry gets a new TTL (`sessionIdleMs`) at most this often. Default 1 min. */
  sessionRefreshMs?: number;
  /**
   * With a `cache`: a session's log level (logging/setLevel, kept in the directory) is read again
   * before relaying a log message when it was read longer ago than this, so a level set through
   * another replica applies here within it. Default 1 s.
   */
  logLevelRefreshMs?: number;
  /**
   * Whether the credentials a session was opened with (its principal, `credential` included) have
   * been revoked since. Every request is authenticated anyway; this ends what no request renews:
   * an open GET (SSE) stream.
   */
  isRevoked?(principal: McpPrincipal): Promise<boolean>;
  /**
   * How often open sessions are checked with `isRevoked`, and for an expired credential: a
   * session whose token has expired, with no request since presenting a newer one, has its GET
   * stream ended (the client reopens it with a fresh token, or gets 401). Default 15 s.
   */
  revocationCheckMs?: number;
};

type Session = {
  transport: SessionTransport;
  principal: McpPrincipal;
  /** What the directory holds for it (with a cache): written again should the entry be lost. */
  record?: SessionRecord;
  lastSeen: number;
  /** tools/calls running: a session waiting on a long call is not idle, whatever its lastSeen. */
  calls: number;
  refreshedAt: number;
  /** When the newest credential its owner presented expires (McpPrincipal.expiresAt); undefined = never. */
  expiresAt?: number;
  close(): Promise<void>;
};

/**
 * A request refused before the MCP server sees it, with the stable code of docs/errors.md that
 * goes in `error.data.code` (as with the gateway's other failures): clients branch on it.
 */
type Refusal = {
  status: 400 | 401 | 403 | 404 | 429 | 500 | 503;
  code:
    | 'VALIDATION_FAILED'
    | 'UNAUTHENTICATED'
    | 'FORBIDDEN'
    | 'MCP_ORIGIN_FORBIDDEN'
    | 'MCP_HOST_FORBIDDEN'
    | 'MCP_SESSION_NOT_FOUND'
    | 'RATE_LIMITED'
    | 'INTERNAL'
    | 'DEPENDENCY_UNAVAILABLE';
  message: string;
};
type Lookup = { session: Session } | Refusal;

// What a client does about it, said: the SDK's client reports the body and does not initialize again by itself.
const NOT_FOUND: Refusal = { status: 404, code: 'MCP_SESSION_NOT_FOUND', message: 'session not found (ended: idle, deleted, or over its limits; or never opened here): send initialize again for a new one' };
const FORBIDDEN: Refusal = { status: 403, code: 'FORBIDDEN', message: 'this session belongs to another identity' };
const DIRECTORY_DOWN: Refusal = { status: 503, code: 'DEPENDENCY_UNAVAILABLE', message: 'session directory unavailable: try again shortly' };
const NOT_RESTORED: Refusal = { status: 500, code: 'INTERNAL', message: 'the session could not be restored on this replica' };
const UNAUTHENTICATED: Refusal = { status: 401, code: 'UNAUTHENTICATED', message: 'missing or invalid API key' };
const NO_SESSION: Refusal = { status: 400, code: 'VALIDATION_FAILED', message: 'no mcp-session-id: start with an initialize request' };
// A GET without a session is how a client of the HTTP+SSE transport of 2024-11-05 begins (it
// waits for an `endpoint` event); a streamable HTTP client never sends one. Its SDK shows only the
// status (SSEClientTransport: "Non-200 status code (400)"); the words are for whoever reads the wire.
const LEGACY_SSE: Refusal = {
  status: 400,
  code: 'VALIDATION_FAILED',
  message:
    'no mcp-session-id: the HTTP+SSE transport of protocol 2024-11-05 (a GET awaiting an endpoint event) is not served here; ' +
    'this is the streamable HTTP transport: POST an initialize request to this URL (protocol versions from 2024-11-05 on are accepted)',
};
// 2025-03-26: "The initialize request MUST NOT be part of a JSON-RPC batch".
const BATCHED_INITIALIZE: Refusal = { status: 400, code: 'VALIDATION_FAILED', message: 'initialize must be sent on its own, not in a JSON-RPC batch' };

/**
 * A GET stream this replica no longer opens (it drains or closes: eventStreamsOf), answered as a
 * stream that ends at once, on a connection that closes. The MCP SDK's client reopens an ended
 * stream (after 1 s), its tries counted from zero each time, so it gets there on the replica the
 * load balancer picks next. An error status would cost it: it gives a GET answered so two more
 * tries, and the one it sends right after initializing none, and then goes without a GET stream
 * (no notifications) for the rest of the session; a 405 tells it no stream is ever offered.
 */
function endedStream(reply: FastifyReply): FastifyReply {
  return reply
    .code(200)
    .headers({ 'content-type': 'text/event-stream', 'cache-control': 'no-store, no-transform', connection: 'close' })
    .send(': this replica is shutting down: open the stream again\n\n');
}

const SSE_HEADERS = { 'content-type': 'text/event-stream', 'cache-control': 'no-store, no-transform' };

/**
 * A POST whose Accept takes neither answer /mcp gives, in the shape of the SDK transport's own 406
 * (JSON-RPC -32000, no `data.code`), which it answered before the gateway served SSE-only clients.
 */
function notAcceptable(reply: FastifyReply, jsonOnly: boolean): FastifyReply {
  const message = jsonOnly
    ? 'Not Acceptable: this endpoint answers requests with text/event-stream; the Accept header must take it'
    : 'Not Acceptable: this endpoint answers with application/json or text/event-stream; the Accept header takes neither';
  return reply.code(406).headers({ 'content-type': 'application/json' }).send({ jsonrpc: '2.0', error: { code: -32000, message }, id: null });
}

function rpcError(reply: FastifyReply, refusal: Refusal, headers: Record<string, string> = {}): FastifyReply {
  return reply
    .code(refusal.status)
    .headers({ 'content-type': 'application/json', ...headers })
    .send({ jsonrpc: '2.0', error: { code: -32001, message: refusal.message, data: { code: refusal.code } }, id: null });
}

async function forgetEmptyBodyType(request: FastifyRequest): Promise<void> {
  const length = request.headers['content-length'];
  if ((length === undefined || length === '0') && request.headers['transfer-encoding'] === undefined) delete request.headers['content-type'];
}

/** One identity: tenant and actor id. A JWT's sub never equals a key's id (refused if of a key id's form: principalFromClaims). */
function sameOwner(a: McpPrincipal, b: McpPrincipal): boolean {
  return a.tenant === b.tenant && a.actor.id === b.actor.id;
}

/**
 * The gateway as an MCP server over streamable HTTP at POST/GET/DELETE `/mcp`. A browser
 * `Origin` or a `Host` that `origins` does not allow is refused first (403, DNS rebinding); an
 * allowed origin's CORS preflight (OPTIONS) is answered without a key. Every
 * request is authenticated; a session belongs to the tenant and actor that opened it, and a request for it
 * with another identity is refused (403). With a `cache`, sessions are recorded in it and a
 * replica adopts a session opened elsewhere on its first request.
 *
 * @example app.register(mcpGatewayPlugin, { gateway, cache, authenticate: (req) => keys.principalOf(req) })
 */
export async function mcpGatewayPlugin(app: FastifyInstance, opts: McpGatewayPluginOptions): Promise<void> {
  const path = opts.path ?? '/mcp';
  // JSON bodies of /mcp (this plugin's routes only) are read as MCP reads them, as `openmcp mcp
  // stdio` and the SDK's own transports do: plain JSON.parse. Fastify's parser refuses a key named
  // `__proto__` (or `constructor` holding `prototype`) as "not valid JSON", yet a tool's arguments
  // may hold one (a tool editing JSON or code). JSON.parse makes it an own property like any
  // other, never a prototype; the MCP server's schemas, the audit's canonical JSON and the upstream
  // see it as such. Other errors stay fastify's: 400 MALFORMED_JSON, 413 over bodyLimit.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    if (body === '') return done(new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), undefined);
    let parsed: unknown;
    try {
      // A leading byte order mark is dropped, as fastify's own parser drops it.
      parsed = JSON.parse(withoutByteOrderMark(body as string));
    } catch {
      return done(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), undefined);
    }
    done(null, parsed);
  });
  const idleMs = opts.sessionIdleMs ?? 30 * 60_000;
  const refreshMs = opts.sessionRefreshMs ?? Math.min(60_000, idleMs / 2);
  const cache = opts.cache;
  const logLevelRefreshMs = opts.logLevelRefreshMs ?? 1_000;
  const sessions = new Map<string, Session>();
  // Events are kept where they were sent: a resume that reaches another replica (which adopts the
  // session from the directory) finds none there and opens a fresh stream (docs/architecture.md).
  const replayLog = new ReplayLog(opts.replayWindow);
  // Adoptions under way, so that requests arriving together for one unknown session adopt it once.
  const adopting = new Map<string, Promise<Session | undefined>>();

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, s] of sessions) {
      if (s.calls === 0) {
        if (now - s.lastSeen > idleMs) void s.close();
      } else if (cache && s.record && now - s.refreshedAt >= refreshMs) {
        // No request renews the directory entry while the client waits on a long call: renew it
        // here, or it expires and the other replicas answer 404 for a session still in use.
        s.refreshedAt = now;
        touchSession(cache, id, s.record, idleMs).then(
          (alive) => (alive ? undefined : s.close()),
          (err: unknown) => app.log.warn({ err }, 'mcp session directory entry not refreshed'),
        );
      }
    }
  }, Math.min(idleMs / 2, 60_000));
  sweep.unref();

  // A revoked key's sessions end here too, open streams included (its requests already get 401).
  // An expired token's GET stream ends: a JWT cannot be revoked, and without this an open stream
  // outlived it. Only the stream: a client that refreshes its token reopens it and carries on.
  const isRevoked = opts.isRevoked;
  const revocations = setInterval(() => {
    const now = Date.now();
    for (const s of sessions.values()) if (s.expiresAt !== undefined && s.expiresAt < now) s.transport.sdk.closeStandaloneSSEStream();
    if (!isRevoked) return;
    // One check per identity and credential, however many sessions it has open.
    const byOwner = new Map<string, Session[]>();
    for (const s of sessions.values()) {
      const owner = `${s.principal.tenant}\n${s.principal.actor.id}\n${s.principal.credential ?? ''}`;
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), s]);
    }
    for (const owned of byOwner.values()) {
      isRevoked(owned[0].principal).then(
        (revoked) => (revoked ? Promise.all(owned.map((s) => s.close())) : undefined),
        (err: unknown) => app.log.warn({ err }, 'mcp session: revocation check failed (retried)'),
      );
    }
  }, opts.revocationCheckMs ?? 15_000);
  revocations.unref();

  // A client's GET stream (server-to-client notifications) never ends by itself, and the HTTP
  // server's close waits for every response: one connected MCP client held each shutdown to its
  // deadline (exit 1). Ended as the server begins to close (eventStreamsOf), the SDK client reopens
  // it (on another replica, or here when back); one opening from then on, or while the process
  // drains, is refused. Calls in flight finish, their sessions close in onClose.
  const streams = eventStreamsOf(app);

  app.addHook('onClose', async () => {
    clearInterval(sweep);
    clearInterval(revocations);
    await Promise.all(adopting.values());
    // Only the local copies: the directory keeps the sessions for the replicas that stay.
    await Promise.all([...sessions.values()].map((s) => s.close()));
  });

  const jsonResponses = opts.enableJsonResponse ?? true;

  const maxPerIdentity = Math.max(1, opts.maxSessionsPerIdentity ?? 100);
  const maxPerTenant = Math.max(1, opts.maxSessionsPerTenant ?? 1000);

  /** Ends (everywhere) the least recently used of `held`, one waiting on a call only when all are; returns it. Requires `held` not empty. */
  function endLeastRecentlyUsed(held: [string, Session][]): Session {
    const idle = held.filter(([, s]) => s.calls === 0);
    const [oldestId, oldest] = (idle.length ? idle : held).reduce((a, b) => (b[1].lastSeen < a[1].lastSeen ? b : a));
    void oldest.close();
    if (cache) void endSession(cache, oldestId, idleMs).catch((err) => app.log.warn({ err }, 'mcp session ended but still in the session directory'));
    return oldest;
  }

  /**
   * List session `id`, then end its owner's least recently used beyond `maxPerIdentity` and its
   * tenant's beyond `maxPerTenant` (never `session` itself: it is the one in use).
   */
  function admit(id: string, session: Session): void {
    sessions.set(id, session);
    const { tenant } = session.principal;
    let ofTenant = [...sessions.entries()].filter(([, s]) => s !== session && s.principal.tenant === tenant);
    let ofOwner = ofTenant.filter(([, s]) => sameOwner(s.principal, session.principal));
    while (ofOwner.length >= maxPerIdentity) {
      app.log.info({ tenant, max: maxPerIdentity }, 'mcp session: too many for one identity, the least recently used ended');
      const ended = endLeastRecentlyUsed(ofOwner);
      ofOwner = ofOwner.filter(([, s]) => s !== ended);
      ofTenant = ofTenant.filter(([, s]) => s !== ended);
    }
    while (ofTenant.length >= maxPerTenant) {
      app.log.info({ tenant, max: maxPerTenant }, 'mcp session: too many for one tenant, its least recently used ended');
      const ended = endLeastRecentlyUsed(ofTenant);
      ofTenant = ofTenant.filter(([, s]) => s !== ended);
    }
  }

  /** A server and transport for session `id`, not initialized yet; `register` lets the SDK list it once initialized. */
  async function build(principal: McpPrincipal, id: string, register: boolean, record?: SessionRecord): Promise<Session> {
    const { server, dispose } = createGatewayServer(
      opts.gateway,
      { tenant: principal.tenant, actor: principal.actor },
      {
        activity: {
          begin: () => void session.calls++,
          // Idle from the answer on, not from the request: a call may outlast the idle timeout.
          end: () => {
            session.calls--;
            session.lastSeen = Date.now();
          },
        },
        // A client that holds its GET stream open without reading it gets no more log messages, not an ever longer queue.
        queued: () => transport.queuedOnGetStream,
        // A replica that only answers the session's POSTs sends no log messages, so it reads no level for them either.
        // One whose GET stream just dropped keeps them for the client's resumption (Last-Event-ID).
        streaming: () => transport.reachesGetStream,
        // Log messages are relayed by the replica holding the GET stream; logging/setLevel may come through any.
        logLevel: cache
          ? { save: (level) => saveLogLevel(cache, id, level, idleMs), load: () => loadLogLevel(cache, id), freshMs: logLevelRefreshMs }
          : undefined,
      },
    );
    const sdk = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      enableJsonResponse: jsonResponses,
      // Counted to the tenant: one flooding the log lets its own events go, not the others' (ReplayLog).
      // What goes to a GET stream that does not reach the client is not kept (keepsEvent).
      eventStore: replayLog.storeFor(id, principal.tenant, (stream): boolean => transport.keepsEvent(stream)),
      onsessioninitialized: register ? () => admit(id, session) : undefined,
      // DELETE: the session ends everywhere. Should the directory be down, its entry lives out its TTL.
      onsessionclosed: cache
        ? () => endSession(cache, id, idleMs).catch((err) => app.log.warn({ err }, 'mcp session ended but still in the session directory'))
        : undefined,
    });
    const transport = new SessionTransport(sdk, jsonResponses, replayLog, principal.tenant);
    const session: Session = {
      transport,
      principal,
      record,
      lastSeen: Date.now(),
      calls: 0,
      refreshedAt: Date.now(),
      expiresAt: principal.expiresAt,
      close: async () => {
        if (sessions.get(id) === session) sessions.delete(id);
        dispose();
        await server.close().catch(() => {});
      },
    };
    transport.onclose = () => {
      if (sessions.get(id) === session) sessions.delete(id);
      dispose();
    };
    await server.connect(transport);
    return session;
  }

  async function adopt(id: string, record: SessionRecord, caller: McpPrincipal): Promise<Session> {
    const { tenant, actor, protocolVersion, capabilities, clientInfo } = record;
    // The directory holds no credential: the adopting request's is the one this replica checks.
    const session = await build({ tenant, actor, expiresAt: caller.expiresAt, credential: caller.credential }, id, false, record);
    try {
      await replayInitialize(session.transport.sdk, id, { protocolVersion, capabilities, clientInfo });
    } catch (err) {
      await session.close();
      throw err;
    }
    // Adopted because it is in use: give the entry a new TTL on this first request.
    session.refreshedAt = 0;
    admit(id, session);
    app.log.info({ tenant }, 'mcp session adopted from the session directory');
    return session;
  }

  function adoptOnce(id: string, record: SessionRecord, caller: McpPrincipal): Promise<Session | undefined> {
    let pending = adopting.get(id);
    if (!pending) {
      pending = adopt(id, record, caller)
        .catch((err) => {
          app.log.error({ err }, 'mcp session not adopted');
          return undefined;
        })
        .finally(() => adopting.delete(id));
      adopting.set(id, pending);
    }
    return pending;
  }

  /** Session `id` for `caller`: this replica's, or adopted from the directory; refreshed there at most every `refreshMs`. */
  async function lookup(id: string, caller: McpPrincipal): Promise<Lookup> {
    let s = sessions.get(id) ?? (await adopting.get(id));
    if (!s && cache) {
      let record: SessionRecord | undefined;
      try {
        record = await loadSession(cache, id);
      } catch (err) {
        app.log.warn({ err }, 'mcp session directory unavailable');
        return DIRECTORY_DOWN;
      }
      if (!record) return NOT_FOUND;
      if (!sameOwner(record, caller)) return FORBIDDEN;
      s = sessions.get(id) ?? (await adoptOnce(id, record, caller));
      if (!s) return NOT_RESTORED;
    }
    if (!s) return NOT_FOUND;
    if (!sameOwner(s.principal, caller)) return FORBIDDEN;
    const now = Date.now();
    if (s.calls === 0 && now - s.lastSeen > idleMs) {
      // Idle past its timeout, the sweep just has not come round yet.
      await s.close();
      return NOT_FOUND;
    }
    if (cache && now - s.refreshedAt >= refreshMs) {
      s.refreshedAt = now;
      const alive = await touchSession(cache, id, s.record!, idleMs).catch((err) => {
        // The local copy still serves; the entry is refreshed on a later request.
        app.log.warn({ err }, 'mcp session directory entry not refreshed');
        return true;
      });
      if (!alive) {
        // Ended through another replica (DELETE) or expired there: end the local copy too.
        await s.close();
        return NOT_FOUND;
      }
    }
    s.lastSeen = now;
    // The owner presented a credential that lasts longer (a refreshed token, or a key): the session's GET stream may outlive the old one.
    if (s.expiresAt !== undefined && (caller.expiresAt === undefined || caller.expiresAt > s.expiresAt)) s.expiresAt = caller.expiresAt;
    return { session: s };
  }

  // First of all, before the key is looked up or a session touched: a page the browser of a
  // user runs (another site, or one DNS-rebound onto this address) is refused here, so it
  // costs no key lookup, counts as no failed authentication, and opens, ends or calls nothing.
  // A page of an allowed origin gets the CORS headers on whatever it is answered, set on the raw
  // response: the SDK writes a session's answers itself (hijacked), and Node merges them in.
  // Every answer, refusals included, is no-store (storeNothing). Callback style: it runs on every /mcp request.
  const check = originCheck(opts.origins ?? {});
  const guardOrigin: onRequestHookHandler = (request, reply, done) => {
    storeNothing(reply.raw);
    const refused = check(request.headers);
    if (!refused) {
      const origin = request.headers.origin;
      if (origin !== undefined) for (const [name, value] of Object.entries(corsHeaders(origin))) reply.raw.setHeader(name, value);
      return done();
    }
    request.log.info({ origin: request.headers.origin, host: request.headers.host, code: refused.code }, 'mcp request refused: origin or host not allowed');
    rpcError(reply, { status: 403, ...refused });
  };

  // Headers for whatever answers the request, set on the raw response as the CORS ones are: the SDK
  // writes a session's answers itself (hijacked), and Node merges them in.
  const tell = (reply: FastifyReply, headers: Record<string, string> | undefined) => {
    for (const [name, value] of Object.entries(headers ?? {})) reply.raw.setHeader(name, value);
  };

  // Who calls, from the onRequest check: set for every request that reaches `handle`.
  const callers = new WeakMap<FastifyRequest, McpPrincipal>();

  // Before the body is read, as on REST: a caller without a valid key, or throttled, costs no
  // reading or parsing of up to bodyLimit bytes, and is told 401/429 whatever it sent.
  async function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
    // Refused before its key is looked up; decided again as it opens (handle), after every await.
    // Not a resume (Last-Event-ID): an SSE answer held here is replayed while this replica drains,
    // no other replica holding its events; a GET stream is refused in handle all the same.
    if (streams.closing && request.method === 'GET' && request.headers['last-event-id'] === undefined) return endedStream(reply);
    let principal: McpPrincipal | null;
    try {
      const found = await opts.authenticate(request);
      // Kept apart from the caller (a session holds its principal): they are this answer's alone.
      const { headers, ...caller } = found ?? {};
      tell(reply, headers);
      principal = found && (caller as McpPrincipal);
    } catch (err) {
      const e = err as { status?: number; retryAfterSeconds?: number; message?: string; headers?: Record<string, string> };
      tell(reply, e.headers);
      if (e.status === 403) return rpcError(reply, { status: 403, code: 'FORBIDDEN', message: e.message ?? 'forbidden' });
      if (e.status === 503) {
        request.log.warn({ err }, 'mcp: the caller could not be authenticated: a dependency is unreachable');
        return rpcError(reply, { status: 503, code: 'DEPENDENCY_UNAVAILABLE', message: e.message ?? 'a dependency is unreachable' }, { 'retry-after': '1' });
      }
      if (e.status !== 429) throw err;
      return rpcError(reply, { status: 429, code: 'RATE_LIMITED', message: e.message ?? 'rate limited' }, e.retryAfterSeconds ? { 'retry-after': String(e.retryAfterSeconds) } : {});
    }
    if (!principal) return rpcError(reply, UNAUTHENTICATED, { 'www-authenticate': 'Bearer' });
    callers.set(request, principal);
  }

  async function handle(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | void> {
    const principal = callers.get(request);
    if (!principal) return rpcError(reply, UNAUTHENTICATED, { 'www-authenticate': 'Bearer' });
    // The SDK's transport wants application/json and text/event-stream named literally (406
    // otherwise). Clients that send no Accept, a wildcard, or (answered as JSON here) only
    // application/json are served: the header is rewritten for it to what the client takes.
    // So are clients whose POSTs take only text/event-stream (the spec asks for both; some send
    // one): every answer to them is an SSE stream, those the SDK would write as JSON converted.
    const media = acceptedMedia(request.headers.accept);
    const sseOnly = request.method === 'POST' && media.sse && !media.json;
    if (request.method === 'POST') {
      if (!(media.sse || (media.json && jsonResponses))) return notAcceptable(reply, media.json);
      request.raw.headers.accept = 'application/json, text/event-stream';
    } else if (request.method === 'GET') {
      request.raw.headers.accept = media.sse ? 'text/event-stream' : '';
    }
    const sid = request.headers['mcp-session-id'];
    let transport: SessionTransport;
    let opened: { id: string; session: Session } | undefined;
    if (typeof sid === 'string') {
      const found = await lookup(sid, principal);
      if (!('session' in found)) return rpcError(reply, found);
      transport = found.session.transport;
      const lastEventId = request.headers['last-event-id'];
      if (request.method === 'GET' && typeof lastEventId === 'string' && media.sse) {
        // A client taking up a dropped SSE answer of a request: the events it missed, then the rest,
        // while the replica drains too (the only one holding them: elsewhere the answer is lost).
        // Such a stream ends with its call (a drain's cut-off ends every call), so it does not hold
        // HTTP's close longer than the POST it takes up would have.
        const resumed = transport.resume(lastEventId);
        if (resumed) return reply.code(200).headers({ ...SSE_HEADERS, 'mcp-session-id': sid }).send(resumed);
        // An event this replica does not hold (past the replay window, or sent by another replica):
        // nothing can be replayed, so the GET opens a fresh stream, as a GET without the header does.
        // One it holds is of the SDK's streams (the GET stream): the SDK replays it from the log.
        if (!transport.knows(lastEventId)) delete request.raw.headers['last-event-id'];
      }
      if (jsonResponses && request.method === 'POST') {
        const fast = await transport.tryPost({ headers: request.raw.headers, url: request.url, body: request.body, authInfo: correlationAuthInfo(request.id), streams: media.sse, sseOnly });
        if (fast?.status === 202) return reply.code(202).send();
        if (fast && 'stream' in fast) return reply.code(200).headers({ ...SSE_HEADERS, 'mcp-session-id': sid }).send(fast.stream);
        if (fast) return reply.code(200).headers({ 'content-type': 'application/json', 'mcp-session-id': sid }).send(fast.body);
      }
    } else if (request.method === 'POST' && isInitializeRequest(request.body)) {
      const id = randomUUID();
      let record: SessionRecord | undefined;
      if (cache) {
        // Recorded before the client learns the id, so its next request may go to any replica.
        const { protocolVersion, capabilities, clientInfo } = request.body.params;
        const { tenant, actor } = principal;
        record = { tenant, actor: { kind: actor.kind, id: actor.id }, protocolVersion, capabilities, clientInfo, createdAt: new Date().toISOString() };
        try {
          await saveSession(cache, id, record, idleMs);
        } catch (err) {
          app.log.warn({ err }, 'mcp session directory unavailable');
          return rpcError(reply, DIRECTORY_DOWN);
        }
      }
      opened = { id, session: await build(principal, id, true, record) };
      transport = opened.session.transport;
    } else if (request.method === 'GET') {
      return rpcError(reply, LEGACY_SSE);
    } else if (Array.isArray(request.body) && request.body.some(isInitializeRequest)) {
      return rpcError(reply, BATCHED_INITIALIZE);
    } else {
      return rpcError(reply, NO_SESSION);
    }
    // The SDK registers a GET stream synchronously within handleRequest (unless it replays events
    // first, awaiting the log's answer, which is at hand): nothing runs between this decision and
    // the stream being known to `streams`' close.
    if (request.method === 'GET' && !streams.admit(reply.raw, () => transport.sdk.closeStandaloneSSEStream())) return endedStream(reply);
    if (sseOnly && jsonResponses) {
      // What the fast path leaves to the SDK (initialize, batches), which answers it as JSON here.
      // Its events recorded as the fast path's are, so that the client can resume it (Last-Event-ID).
      const version = request.headers['mcp-protocol-version'];
      const answer = await sdkAnswerAsSse(transport.sdk, request.raw.headers, request.url, request.body, correlationAuthInfo(request.id), (messages) =>
        transport.answerWhole(messages, version),
      );
      if (opened && transport.sessionId === undefined) {
        await opened.session.close();
        if (cache) await removeSession(cache, opened.id).catch(() => {});
      }
      return reply.code(answer.status).headers(answer.headers).send(answer.body);
    }
    reply.hijack();
    if (request.method === 'GET') reply.raw.once('close', () => reply.raw.statusCode === 200 && transport.getStreamEnded());
    await transport.sdk.handleRequest(Object.assign(request.raw, { auth: correlationAuthInfo(request.id) }), reply.raw, request.body);
    if (opened && transport.sessionId === undefined) {
      // The SDK refused the initialize (its Content-Type header, say): no session came of it.
      await opened.session.close();
      if (cache) await removeSession(cache, opened.id).catch(() => {});
    }
  }

  // A browser's CORS preflight: sent without credentials, so it is not authenticated, and it
  // opens nothing. An OPTIONS that is not one (no Origin) is told the methods.
  app.options(path, { onRequest: [guardOrigin], schema: mcpOperation('mcpOptions', 'CORS preflight (no key), or the methods /mcp takes', []) }, async (request, reply) => {
    const preflight = request.headers.origin !== undefined && request.headers['access-control-request-method'] !== undefined;
    return reply.code(204).headers(preflight ? preflightHeaders() : { allow: `${MCP_METHODS}, OPTIONS` }).send();
  });
  app.post(path, { onRequest: [guardOrigin, authenticate], schema: mcpOperation('mcpPost', 'MCP JSON-RPC request, notification or response (streamable HTTP)') }, handle);
  // No HEAD twin: the SDK answers a HEAD 405 itself (after the key), and the OPTIONS answer and
  // CORS name GET, POST and DELETE only; so HEAD is refused 405 as every other method is (docs/errors.md).
  app.get(path, { onRequest: [guardOrigin, authenticate], config: { eventStream: true }, exposeHeadRoute: false, schema: mcpOperation('mcpGet', "MCP session's server-to-client SSE stream (resumed with Last-Event-ID)") }, handle);
  // DELETE has no body, but clients that set `content-type: application/json` on every request
  // (in the SDK: requestInit.headers) send it there too, and fastify refuses an empty JSON body (400).
  app.delete(path, { onRequest: [guardOrigin, forgetEmptyBodyType, authenticate], schema: mcpOperation('mcpDelete', 'End an MCP session (Mcp-Session-Id)') }, handle);
}

/**
 * What /docs says of an /mcp operation: a stable operationId (client generators name methods after
 * it; docs/interfaces.md promises one for every operation) and where the protocol is described,
 * since its JSON-RPC bodies are MCP's, not declared here. Metadata only: nothing is validated.
 */
function mcpOperation(operationId: string, summary: string, security?: []): Record<string, unknown> {
  const description =
    'The gateway as an MCP server over streamable HTTP: JSON-RPC bodies as the MCP specification defines them, not described in this document. See docs/interfaces.md, "`/mcp`", and docs/architecture.md, "The MCP gateway as MCP clients see it".';
  return { tags: ['mcp'], operationId, summary, description, ...(security ? { security } : {}) };
}

