import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../auth/principal';
import { can, lacksPermission, PERMISSIONS } from '../auth/roles';
import type { RecordedEvent } from '../core/envelope';
import type { EventStore } from '../eventstore/port';
import type { ReadModels } from '../readmodels/port';
import { ForbiddenError, RateLimitedError, StreamRefusedError } from '../api/errors';
import type { RateLimiter } from '../auth/rate-limit';
import { rateLimitHeaders } from '../auth/rate-limit-headers';
import { eventStreamsOf } from '../http/event-streams';
import { isHexAddress } from '../core/address';
import { NotFoundError, urlHoldsCredentials, ValidationError } from '../core/errors';
import type { ContractDescription, DescribeContractParameters } from '../web3/describe-contract';
import { visibleTo } from './event-notice';
import { openEventStream, type EventStreamWriter } from './event-stream';
import { LiveHub } from './live-hub';
import { importMap, loadAssets, UI_ROOT, type Asset } from './static-assets';
import { streamAfter } from './stream-after';

export type UpstreamStatus = { id: string; tenant: string; name: string; health: string; circuit: string; tenantCircuitsOpen?: number; inFlight?: number; variableMissingHere?: string };

export type UiPluginOptions = {
  store: EventStore;
  readModels: ReadModels;
  /**
   * The API's bearer authentication (Authenticator.authenticate): same keys, same 401s, and with
   * `address` the same limit on failed authentications per client address (429).
   */
  authenticate: (authorization: string | undefined, connection?: object, address?: string) => Promise<Principal>;
  /**
   * The API's rate limiter: each /ui/api request counts against the same per-key and per-tenant
   * windows (429 beyond), and its answer carries where it left them (RateLimit-*), as on REST.
   */
  rateLimit?: RateLimiter;
  /**
   * The chain RPC URL the Verify page proposes to signed-in users, unless it holds a credential (a
   * provider's key in its path or query, a user and password): then the page proposes none.
   */
  chainRpcUrl?: string;
  /** The AuditAnchor address the Verify page proposes instead of the one a proof file names. */
  anchorContract?: string;
  /**
   * Circuit-breaker state of the upstream MCP servers (McpGateway.status): as `viewer`'s tenant's
   * calls meet it (a shared server's circuit is per tenant for its calls' timeouts), or, without
   * one (a cross-tenant key), the servers' own with how many tenants' circuits are open.
   */
  upstreams?: (viewer?: { tenant: string }) => UpstreamStatus[];
  /** Contract name, method signature and token units for the Approvals page (createContractDescriber over CHAINS_FILE). */
  describeContract?: (p: DescribeContractParameters) => Promise<ContractDescription | undefined>;
  /** Heartbeat on the live stream, so proxies keep it open (default 15 s). */
  heartbeatMs?: number;
  /** Live streams one key (principal subject) may hold open here; its oldest is ended beyond (default 20). */
  maxStreamsPerKey?: number;
  /** Live streams one tenant, all its keys and token subjects together, may hold open here; its oldest is ended beyond (default 200). */
  maxStreamsPerTenant?: number;
  /**
   * Where this process learns of events the read models came to show after their notices went out
   * (the gap repair applying them from the event store and rebuilding their streams: GapRepair's
   * onShown, in a process with the projector): listened to while the app is up, told to every open
   * live stream again (LiveHub.announceAgain). Returns the function that stops listening.
   */
  shownLate?: (listener: (events: RecordedEvent[]) => void) => () => void;
  onError?: (err: unknown) => void;
};

const MOUNT = '/ui';
const ASSET_RE = /^(app|vendor)\/[A-Za-z0-9_./-]{1,200}$/;

/**
 * The operator and auditor dashboard at /ui: static ES modules (ui/app, plus preact, htm and
 * noble from node_modules), and three JSON endpoints plus a live event stream under /ui/api,
 * authenticated with the API's own bearer keys. Register after buildApp:
 * `app.register(uiPlugin, { store, readModels, authenticate: auth.authenticate, chainRpcUrl })`.
 */
export const uiPlugin: FastifyPluginAsync<UiPluginOptions> = async (app, o) => {
  const assets = loadAssets();
  const map = JSON.stringify(importMap(MOUNT));
  const mapHash = createHash('sha256').update(map).digest('base64');
  const html = readFileSync(join(UI_ROOT, 'index.html'), 'utf8').replace('<!--importmap-->', `<script type="importmap">${map}</script>`);
  // The page runs only our own scripts; fetch() may reach the gateway and the RPC an auditor types in.
  const csp = [
    "default-src 'none'",
    `script-src 'self' 'sha256-${mapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self' http: https:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  const secure = (reply: FastifyReply) =>
    reply.header('content-security-policy', csp).header('x-content-type-options', 'nosniff').header('referrer-policy', 'no-referrer');

  const hub = new LiveHub({ store: o.store, readModels: o.readModels, onError: o.onError });
  let stopListening: (() => void) | undefined;
  app.addHook('onReady', async () => {
    await hub.start();
    stopListening = o.shownLate?.((events) => hub.announceAgain(events));
  });
  app.addHook('onClose', async () => {
    stopListening?.();
    await hub.close();
  });
  // A live stream never ends by itself, and the HTTP server's close waits for every response:
  // one open dashboard held each shutdown to its deadline (exit 1). Ended as the server begins to
  // close (eventStreamsOf), the page reconnects (to another replica, or this one when it is back)
  // with `after`, missing nothing; one opening from then on, or while the process drains, is refused.
  const streams = eventStreamsOf(app);
  // A stream never ends by itself and costs a socket, a timer and up to 1 MiB of unread notices:
  // one key opening streams without end held all of that (its rate limit still let 600 a minute
  // through). Beyond the cap its oldest stream ends; a page still open there reconnects with `after`.
  const maxPerKey = Math.max(1, o.maxStreamsPerKey ?? 20);
  const byKey = new Map<string, EventStreamWriter[]>();
  // Per key is not enough: a tenant's admin mints up to MAX_API_KEYS_PER_TENANT keys (100, so 2,000
  // streams), and its IdP as many token subjects as it likes. As /mcp sessions are, per tenant too.
  const maxPerTenant = Math.max(1, o.maxStreamsPerTenant ?? 200);
  const byTenant = new Map<string, EventStreamWriter[]>();
  // Each request counts against the key's rate limits, as on REST and /mcp (a key over its limit
  // kept full use of the dashboard's API); a stream's heartbeat re-check is not a request, and
  // neither counts a failed authentication of the client address nor is refused for one.
  // The RateLimit-* headers are set on the raw response: the live stream writes its head itself (hijacked).
  const principal = async (request: FastifyRequest, reply: FastifyReply, permission: Parameters<typeof can>[1] = 'tasks:read', count = true) => {
    const p = await o.authenticate(request.headers.authorization, undefined, count ? request.ip : undefined);
    // Counted before the permission check, as on REST: a refused request (403) uses up the window too.
    if (count && o.rateLimit) {
      const state = await o.rateLimit(p).catch((err: unknown) => {
        if (err instanceof RateLimitedError) for (const [name, value] of Object.entries(rateLimitHeaders(err))) reply.raw.setHeader(name, value);
        throw err;
      });
      for (const [name, value] of Object.entries(rateLimitHeaders(state))) reply.raw.setHeader(name, value);
    }
    if (!can(p.role, permission)) throw new ForbiddenError(lacksPermission(p.role, permission), { permission });
    return p;
  };
  const scope = (p: Principal) => (tenant: string) => p.crossTenant || tenant === p.tenant;
  // What a key reads here (its tenant's activity, tool health, its permissions) and the refusals
  // are never kept by a proxy or browser cache, as on /v1; set before authentication.
  const api = {
    schema: { hide: true },
    onRequest: (_request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      reply.header('cache-control', 'no-store');
      done();
    },
  };

  const page = async (_request: FastifyRequest, reply: FastifyReply) => secure(reply).type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(html);
  app.get(MOUNT, { schema: { hide: true } }, page);
  app.get(`${MOUNT}/`, { schema: { hide: true } }, page);

  app.get<{ Params: { '*': string } }>(`${MOUNT}/*`, { schema: { hide: true } }, async (request, reply) => {
    const path = request.params['*'];
    const a: Asset | undefined = ASSET_RE.test(path) && !path.includes('..') ? assets.get(path) : undefined;
    // No asset: a path no route answers, 404 ROUTE_NOT_FOUND as anywhere else (no-store, a problem with its code).
    if (!a) return reply.callNotFound();
    secure(reply).header('etag', a.etag).header('cache-control', 'no-cache');
    if (request.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.type(a.type).send(a.body);
  });

  app.get(`${MOUNT}/api/config`, api, async (request, reply) => {
    const p = await principal(request, reply);
    return {
      tenant: p.tenant,
      role: p.role,
      // What the page may offer (the API decides anyway): no Approve button a 403 would answer.
      permissions: PERMISSIONS.filter((x) => can(p.role, x)),
      crossTenant: p.crossTenant,
      // Who is asking, as approvals count them (the actor's id, in its own tenant): the Approvals
      // page offers no Approve to a principal who already approved, or to a task's submitter under four-eyes.
      actor: { kind: p.actor.kind, id: p.actor.id },
      // Never a provider's key to every viewer: the user enters a URL of their own then.
      ...(o.chainRpcUrl && !urlHoldsCredentials(o.chainRpcUrl, { pathKeys: true }) ? { chainRpcUrl: o.chainRpcUrl } : {}),
      ...(o.anchorContract ? { anchorContract: o.anchorContract } : {}),
    };
  });

  app.get(`${MOUNT}/api/activity`, api, async (request, reply) => {
    const p = await principal(request, reply);
    // Events by what the role may read, as its live stream (visibleTo): no count of key events for a viewer.
    const mayRead = (x: Parameters<typeof can>[1]) => can(p.role, 'events:read') || can(p.role, x);
    return { bucketSeconds: 60, position: hub.position, buckets: hub.activity.series(p.crossTenant ? undefined : p.tenant, Date.now(), mayRead) };
  });

  app.get(`${MOUNT}/api/mcp-health`, api, async (request, reply) => {
    const p = await principal(request, reply, 'mcp:read');
    const calls = hub.tools.byServer(scope(p));
    // A shared server's calls in flight are every tenant's: how busy the others are is theirs, and
    // so are their circuits (a tenant sees its own). The variable it lacks on this replica is of its
    // configuration, the operator's (as GET /v1/mcp-servers).
    const upstreams = (o.upstreams?.(p.crossTenant ? undefined : { tenant: p.tenant }) ?? [])
      .filter((u) => u.tenant === '*' || scope(p)(u.tenant))
      .map(({ inFlight, variableMissingHere, tenantCircuitsOpen, ...u }) =>
        u.tenant === '*' && !p.crossTenant
          ? u
          : { ...u, inFlight, ...(variableMissingHere !== undefined ? { variableMissingHere } : {}), ...(tenantCircuitsOpen !== undefined ? { tenantCircuitsOpen } : {}) },
      );
    return { upstreams, calls };
  });

  // Public facts from CHAINS_FILE and the chain (names, ABI, token units), shown beside a proposal
  // whose hash the browser checks itself: they explain what is approved, they are not what is approved.
  app.get<{ Querystring: { chainId?: string; address?: string; method?: string } }>(`${MOUNT}/api/contract`, api, async (request, reply) => {
    await principal(request, reply);
    const q = request.query;
    if (!q.chainId || !/^\d{1,15}$/.test(q.chainId)) throw new ValidationError('chainId must be a chain id (decimal)', { field: 'chainId' });
    if (!isHexAddress(q.address)) throw new ValidationError('address must be a 0x-prefixed 20-byte address', { field: 'address' });
    if (q.method !== undefined && !/^[A-Za-z_$][A-Za-z0-9_$]{0,99}(\([A-Za-z0-9_$,[\]() ]{0,1000}\))?$/.test(q.method)) throw new ValidationError('method must be a Solidity function name or signature, e.g. transfer(address,uint256)', { field: 'method' });
    const d = await o.describeContract?.({ chainId: Number(q.chainId), address: q.address.toLowerCase(), method: q.method });
    if (!d) throw new NotFoundError('contract', `${q.address.toLowerCase()} on chain ${q.chainId}`);
    return d;
  });

  app.get<{ Querystring: { after?: string | string[] } }>(`${MOUNT}/api/stream`, { ...api, config: { eventStream: true } }, async (request, reply) => {
    const p = await principal(request, reply);
    const after = streamAfter(request.query.after);
    // Decided here, after the key check: nothing is awaited from here until the stream is open.
    if (!streams.admit(reply.raw, () => stream.close())) throw new StreamRefusedError();
    const stream = openEventStream(reply);
    const mine = byKey.get(p.subject) ?? [];
    byKey.set(p.subject, mine);
    mine.push(stream);
    const tenants = byTenant.get(p.tenant) ?? [];
    byTenant.set(p.tenant, tenants);
    tenants.push(stream);
    stream.send('hello', undefined, { position: hub.position, tenant: p.tenant });
    // Back from further than this process can replay (its backlog was trimmed, or it restarted
    // and warmed from fewer events): what is missed cannot be told, so the page reloads instead,
    // and hears what follows (not the backlog its reload reads anyway).
    const reset = after !== undefined && !hub.covers(after);
    if (reset) stream.send('reset', undefined, { position: hub.position });
    const unsubscribe = hub.subscribe(reset ? hub.position : after, (n) => {
      if (visibleTo(n, p)) stream.send('event', n.position, n);
    });
    // The key was checked once, at connect; a stream lives for hours. Each heartbeat checks it
    // again, so a revoked key stops hearing within a beat (plus the authenticator's cache time).
    const beat = setInterval(() => {
      stream.comment('keep-alive');
      principal(request, reply, 'tasks:read', false).catch(() => stream.close());
    }, o.heartbeatMs ?? 15_000);
    stream.onClose(() => {
      mine.splice(mine.indexOf(stream), 1);
      if (mine.length === 0 && byKey.get(p.subject) === mine) byKey.delete(p.subject);
      tenants.splice(tenants.indexOf(stream), 1);
      if (tenants.length === 0 && byTenant.get(p.tenant) === tenants) byTenant.delete(p.tenant);
      clearInterval(beat);
      unsubscribe();
    });
    if (mine.length > maxPerKey) mine[0].close();
    if (tenants.length > maxPerTenant) tenants[0].close();
  });
};
