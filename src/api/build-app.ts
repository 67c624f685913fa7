import Fastify, { type FastifyInstance, type onRequestHookHandler, type onResponseHookHandler, type preValidationHookHandler } from 'fastify';
import swagger from '@fastify/swagger';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { newId } from '../core/ids';
import { createAuthenticator } from '../auth/authenticator';
import { createAuthFailureLimiter } from '../auth/auth-failure-limit';
import { createRateLimiter } from '../auth/rate-limit';
import { rateLimitHeaders } from '../auth/rate-limit-headers';
import { RateLimitedError } from '../auth/errors';
import { can, lacksPermission, type Permission } from '../auth/roles';
import { createMetrics } from '../metrics/metrics';
import type { AppDeps } from './deps';
import { answerClientError } from './client-error';
import { installErrorHandler, toProblem } from './error-handler';
import { responseHeaders } from './openapi-headers';
import { optionalBodies } from './openapi-optional-bodies';
import { problemContentTypes } from './openapi-problems';
import { ForbiddenError } from './errors';
import { createLogger } from './logger';
import { endConnectionsOnClose } from './end-connections-on-close';
import { eventStreamsOf } from '../http/event-streams';
import { problemOf, sendProblem } from './problem';
import { isMcpUrl, mcpRefusal } from './mcp-refusal';
import { batchesRoutes } from './routes/batches.routes';
import { eventsRoutes } from './routes/events.routes';
import { keysRoutes } from './routes/keys.routes';
import { mcpRoutes } from './routes/mcp.routes';
import { systemRoutes } from './routes/system.routes';
import { tasksRoutes } from './routes/tasks.routes';
import { toolCallsRoutes } from './routes/tool-calls.routes';
import { subjectsRoutes } from './routes/subjects.routes';
import { bodyDepth, MAX_BODY_DEPTH } from '../core/body-depth';
import { escapeLoneSurrogates, loneSurrogateIn } from '../core/lone-surrogate';
import { withoutByteOrderMark } from '../core/byte-order-mark';
import { prototypePoisoningKey } from '../core/prototype-poisoning-key';
import { OpenMcpError, ValidationError } from '../core/errors';
import { duplicateJsonKey, duplicateJsonKeyText } from '../core/json-duplicate-key';
import { NoQuery } from './schemas/common';

const REQUEST_ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The REST API as a fastify instance, not listening (tests use `app.inject()`; src/main.ts adds
 * the /mcp plugin and calls `listen`). Auth, rate limit and permission run in onRequest, before
 * the body is read, so an unauthenticated or throttled caller costs no parsing and appends nothing.
 * @example const app = await buildApp(deps); await app.listen({ host, port });
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const metrics = deps.metrics ?? createMetrics({ registry: deps.registry });
  const logger = deps.logger === undefined ? createLogger('info') : deps.logger === false ? createLogger('silent') : deps.logger;
  const onCacheError = (err: unknown) => logger.warn({ err }, 'rate-limit counters unreachable: counting in this process for now');
  const { failedAuthPerAddressPerMinute, ...perPrincipal } = deps.rateLimit;
  const failures = failedAuthPerAddressPerMinute ? createAuthFailureLimiter({ cache: deps.cache, perAddressPerMinute: failedAuthPerAddressPerMinute, onCacheError }) : undefined;
  const auth = deps.auth ?? createAuthenticator({ keys: deps.keys, jwt: deps.jwt, failures });
  const rateLimit = deps.rateLimiter ?? createRateLimiter({ cache: deps.cache, ...perPrincipal, onCacheError });

  const app = Fastify({
    loggerInstance: logger,
    bodyLimit: deps.bodyLimit ?? 1_048_576,
    requestIdHeader: false,
    // request.ip, the address failed authentications are counted against: the socket's, or with
    // TRUST_PROXY the one the named proxies put in X-Forwarded-For.
    trustProxy: deps.trustProxy ?? false,
    // Accept a caller's request id when it is a plain token; it becomes the events' correlationId.
    genReqId: (req) => {
      const h = req.headers['x-request-id'];
      return typeof h === 'string' && REQUEST_ID_RE.test(h) ? h : newId();
    },
    routerOptions: { maxParamLength: 500 },
    // Node refuses an HTTP/1.1 request without Host itself, with a bare 400 (no body, no request
    // id): refused below instead, as a problem like every other refusal.
    http: { requireHostHeader: false },
    // Requests node's parser refuses before any route (not HTTP, headers over 16 KiB) are problems too.
    clientErrorHandler: (err, socket) => answerClientError(err, socket, (code) => metrics.errors.inc({ code })),
    // Errors raised by the router before any hook (bad URL encoding, over-long ids) are problems too.
    frameworkErrors: (err, request, reply) => {
      const problem = toProblem(err, request);
      metrics.errors.inc({ code: problem.code });
      metrics.httpDuration.observe({ method: request.method, route: 'unmatched', status: String(problem.status) }, reply.elapsedTime / 1000);
      // Before any route's hooks (which set no-store under /v1): as every refusal there.
      reply.header('x-request-id', request.id).header('cache-control', 'no-store');
      return sendProblem(reply, problem);
    },
  });
  // The drain's HTTP step ends when the requests in flight are answered, not when their clients'
  // keep-alive connections time out (/v1, /mcp and the dashboard alike).
  endConnectionsOnClose(app);
  // Made here first, so the event streams of the plugins registered later (the dashboard, /mcp)
  // are refused from the moment the process drains, not only once HTTP closes.
  eventStreamsOf(app, deps.draining);
  // RFC 9112: an HTTP/1.1 request must carry Host (HTTP/1.0 ones need not). Before every route's
  // hooks, unmatched paths included; the connection is closed, as for the parser's refusals. /mcp
  // answers its refusals in JSON-RPC (docs/errors.md), the rest as problems.
  app.addHook('onRequest', (request, reply, done) => {
    if (request.raw.httpVersion !== '1.1' || request.raw.headers.host !== undefined) return done();
    metrics.errors.inc({ code: 'MALFORMED_REQUEST' });
    reply.header('x-request-id', request.id).header('cache-control', 'no-store').header('connection', 'close');
    const detail = 'headers.host: an HTTP/1.1 request must name its Host (RFC 9112)';
    if (isMcpUrl(request.url)) {
      void reply.code(400).type('application/json').send(mcpRefusal('MALFORMED_REQUEST', detail));
      return;
    }
    void sendProblem(reply, problemOf(400, 'MALFORMED_REQUEST', detail, { field: 'headers.host', requestId: String(request.id) }));
  });
  // A JSON API: text/plain bodies are refused with 415 instead of reaching validation as strings.
  app.removeContentTypeParser('text/plain');
  // fastify's JSON parser (secure-json-parse: prototype poisoning refused, a leading byte order
  // mark dropped), then a key named twice in one object refused too: JSON.parse keeps the last,
  // other parsers the first (a proxy or a client's own hash could read another body than the one
  // run and recorded). fastify says "Body is not valid JSON" of a poisoning body that is valid
  // JSON: such a body is parsed again to name the key and its path (only a refused one: the walk
  // is not paid on every body). Each answer names the body. /mcp has its own parser.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body as string;
    parseJson(request, text, (err, parsed) => {
      if (err) return done(prototypePoisoningError(text) ?? err, undefined);
      const twice = duplicateJsonKey(text);
      if (twice) return done(new OpenMcpError('MALFORMED_JSON', `body: ${duplicateJsonKeyText(twice)}; send each key once`, { status: 400, details: { field: 'body' } }), undefined);
      done(null, parsed);
    });
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandler(app, (code) => metrics.errors.inc({ code }), (method, status, seconds) =>
    metrics.httpDuration.observe({ method, route: 'unmatched', status: String(status) }, seconds),
  );

  await app.register(swagger, {
    openapi: {
      info: { title: 'OpenMCP-Chain API', version: '1.0.0', description: 'Errors are application/problem+json with a stable code (docs/errors.md). A method a path does not serve is 405 METHOD_NOT_ALLOWED, with Allow naming the methods it does (HEAD with every GET), answered before the key is checked.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API key (omk_…) or JWT' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: (d) => responseHeaders(optionalBodies(problemContentTypes('openapiObject' in d ? d.openapiObject : d.swaggerObject))),
  });

  // Declared up front so every request object has the same shape (no per-request property add).
  app.decorateRequest('principal', undefined);

  // Hooks are callback-style (an async hook costs an extra promise and tick per request) and
  // attached per route from onRoute, so each closes over its permission and route label instead
  // of reading request.routeOptions (a getter that builds a new object on every access).
  const tagRequest: onRequestHookHandler = (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  };

  // Answers to authenticated requests (tasks with their instructions and answers, tool calls with
  // their payloads, events, keys, proofs) and their refusals are never stored by a proxy or a
  // browser cache: set before authentication, so every answer of the route has it.
  const authorize = (permission: Permission): onRequestHookHandler => (request, reply, done) => {
    reply.header('x-request-id', request.id).header('cache-control', 'no-store');
    auth
      .authenticate(request.headers.authorization, request.raw.socket, request.ip)
      .then((principal) => {
        // The request's log lines (a 403 or 429 included) name who made it: tenant and key id or
        // token subject, never the credential, so a key's requests can be found in the log. Added
        // to the request's own logger (fastify makes one per request): a second child logger per
        // request cost ~45 µs of CPU, two thirds of a cached read (bench/api.bench.ts).
        (request.log as { setBindings?(b: Record<string, string>): void }).setBindings?.({ tenant: principal.tenant, subject: principal.subject });
        // Counted before the permission check: a refused request (403) takes its place in the
        // key's window like any other, so a key cannot probe the routes its role lacks without end.
        return rateLimit(principal).then(
          (state) => {
            reply.headers(rateLimitHeaders(state));
            if (!can(principal.role, permission)) throw new ForbiddenError(lacksPermission(principal.role, permission), { permission });
            request.principal = principal;
          },
          (err: unknown) => {
            // Over a window: none left until it resets (Retry-After, set with the problem).
            if (err instanceof RateLimitedError) reply.headers(rateLimitHeaders(err));
            throw err;
          },
        );
      })
      .then(() => done(), done);
  };

  // Hostile bodies nested thousands deep would overflow recursive walkers (zod, JCS); refuse
  // them before validation. Only routes that take a body pay for the check. Refused through the
  // error handler, as every other problem: counted in openmcp_errors_total and logged.
  const depthCheck: preValidationHookHandler = (request, _reply, done) => {
    if (request.body !== undefined && request.body !== null && bodyDepth(request.body, MAX_BODY_DEPTH) > MAX_BODY_DEPTH) {
      return done(new ValidationError(`body: nested deeper than ${MAX_BODY_DEPTH} levels`, { field: 'body' }));
    }
    // What a body says may be hashed into an event, whose hash must be reproducible outside JavaScript.
    const lone = loneSurrogateIn(request.body, ['body']);
    if (lone) {
      // A key holding the surrogate is named with it written out (`\\udc00`): the answer itself stays Unicode text.
      const { field } = lone;
      const detail = `${field}: a lone UTF-16 surrogate (\\${lone.unit}) is not Unicode text, which event hashes need (RFC 8785)`;
      return done(new ValidationError(detail, { field }));
    }
    done();
  };

  // One labelled child per method and status of the route, so an observation skips label hashing.
  // An event stream's 200 is not observed: it ends when its client goes (minutes, hours), and one
  // such "request" put every p99 of the latency panel at the top bucket.
  const observe = (route: string, eventStream: boolean): onResponseHookHandler => {
    const children = new Map<string, { observe(v: number): void }>();
    return (request, reply, done) => {
      if (eventStream && reply.statusCode === 200 && request.method === 'GET') return done();
      const key = `${request.method} ${reply.statusCode}`;
      let child = children.get(key);
      if (!child) children.set(key, (child = metrics.httpDuration.labels({ method: request.method, route, status: String(reply.statusCode) })));
      child.observe(reply.elapsedTime / 1000);
      done();
    };
  };

  const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  app.addHook('onRoute', (route) => {
    const permission = route.config?.permission;
    route.onRequest = [permission ? authorize(permission) : tagRequest, ...asArray(route.onRequest)];
    if (route.schema?.body) route.preValidation = [depthCheck, ...asArray(route.preValidation)];
    // A /v1 route that declares no query takes none: a parameter is refused, naming it, as on the
    // lists (it was ignored: `POST /v1/tasks?dryRun=true` submitted the task, and ran it).
    if (route.url.startsWith('/v1/') && route.schema && route.schema.querystring === undefined) route.schema.querystring = NoQuery;
    route.onResponse = [observe(route.url, route.config?.eventStream === true), ...asArray(route.onResponse)];
  });

  const keyDeps = {
    store: deps.store,
    catalog: deps.catalog,
    clock: deps.clock,
    keys: deps.keys,
    onKeyChange: (hash: string) => auth.forget(hash),
    maxKeysPerTenant: deps.maxKeysPerTenant,
  };
  await app.register(systemRoutes(deps, metrics));
  if (deps.routes !== false) {
    await app.register(tasksRoutes(deps), { prefix: '/v1' });
    await app.register(toolCallsRoutes(deps), { prefix: '/v1' });
    await app.register(eventsRoutes(deps), { prefix: '/v1' });
    await app.register(batchesRoutes(deps), { prefix: '/v1' });
    await app.register(mcpRoutes(deps), { prefix: '/v1' });
    await app.register(keysRoutes(deps, keyDeps), { prefix: '/v1' });
    await app.register(subjectsRoutes(deps), { prefix: '/v1' });
  }
  return app;
}

/**
 * The refusal of a body fastify's parser refused that is valid JSON (so refused for a prototype
 * poisoning key), naming the key and its path (each key cut to 200 characters: the body is the
 * sender's, the answer and the log line are not to echo it whole); undefined when `text` is not
 * JSON (fastify's answer stands).
 * @example prototypePoisoningError('{"a":{"__proto__":1}}')?.details // { field: 'body.a.__proto__' }
 */
function prototypePoisoningError(text: string): OpenMcpError | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(withoutByteOrderMark(text));
  } catch {
    return undefined;
  }
  const poison = prototypePoisoningKey(parsed);
  if (!poison) return new OpenMcpError('MALFORMED_JSON', 'body: a key is refused as prototype poisoning (__proto__, or prototype inside constructor); rename it', { status: 400, details: { field: 'body' } });
  const segment = (p: string | number) => (typeof p === 'number' ? p : escapeLoneSurrogates(p.length > 200 ? `${p.slice(0, 200)}…` : p));
  const field = ['body', ...poison.map(segment)].join('.');
  const key = poison.length > 1 && poison[poison.length - 2] === 'constructor' && poison[poison.length - 1] === 'prototype' ? 'a key named "prototype" inside one named "constructor"' : 'a key named "__proto__"';
  return new OpenMcpError('MALFORMED_JSON', `${field}: ${key} is refused (prototype poisoning: code copying the object would take it for its prototype); rename it`, { status: 400, details: { field } });
}
