import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyBaseLogger } from 'fastify';

const current = new AsyncLocalStorage<FastifyBaseLogger>();

/**
 * Run `fn` (a fastify hook's `done`: the rest of the request) with `log`, the request's own logger
 * (`request.log`, bound to its `reqId`, tenant and subject), as the one requestLog finds. Work the
 * request awaits keeps it; work it merely starts (a timer, a connection) keeps it too, so only
 * lines that are about the request use requestLog.
 * @example app.addHook('onRequest', (request, _reply, done) => withRequestLog(request.log, done));
 */
export function withRequestLog<T>(log: FastifyBaseLogger, fn: () => T): T {
  return current.run(log, fn);
}

/**
 * The logger of the request this runs for (withRequestLog), else `fallback`: for warnings told
 * through process-wide callbacks (a dependency failing under a request, e.g. the read cache or the
 * rate-limit counters unreachable), so the line carries the `reqId` of the request that met it.
 * @example onCacheError: (err) => requestLog(logger).warn({ err }, 'read cache unreachable: answering from SQL for now')
 */
export function requestLog(fallback: FastifyBaseLogger): FastifyBaseLogger {
  return current.getStore() ?? fallback;
}
