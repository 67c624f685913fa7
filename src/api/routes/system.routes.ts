import type { FastifyPluginAsync, LogLevel } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Metrics } from '../../metrics/metrics';
import { SCRAPE_TIMEOUT_HEADER, scrapeReadTimeoutMs, withScrapeReadTimeout } from '../../metrics/scrape-budget';
import type { AppDeps } from '../deps';
import { Health, Readiness } from '../schemas/system';
import { runReadinessCheck, type ReadinessCheck } from '../../telemetry/readiness-check';

const runCheck = async (c: ReadinessCheck) => ({ name: c.name, ...(await runReadinessCheck(c)) });

/** Liveness, readiness (each dependency named with its state), Prometheus metrics, the OpenAPI document. Public. */
export function systemRoutes(deps: AppDeps, metrics: Metrics): FastifyPluginAsync {
  return async (fastify) => {
    const app = fastify.withTypeProvider<ZodTypeProvider>();
    // Probes and scrapes come every few seconds from every healthcheck, load balancer and scraper:
    // at `info` their request lines are noise, so they are logged from `debug` down only (a route's
    // logLevel sets its requests' threshold: at warn and above the process's own holds). A /readyz
    // 503 is logged at warn, naming what is down; an error (5xx) at error, by the error handler.
    const logLevel = (fastify.log.level === 'info' ? 'warn' : fastify.log.level) as LogLevel;

    app.get('/healthz', { logLevel, schema: { tags: ['system'], operationId: 'getHealth', summary: 'Liveness', security: [], response: { 200: Health } } }, async () => ({ status: 'ok' as const }));

    app.get('/readyz', { logLevel, schema: { tags: ['system'], operationId: 'getReadiness', summary: 'Readiness of each dependency', security: [], response: { 200: Readiness, 503: Readiness } } }, async (request, reply) => {
      const dependencies = await Promise.all((deps.readiness ?? []).map(runCheck));
      if (deps.draining?.()) dependencies.unshift({ name: 'lifecycle', state: 'down', detail: 'draining: this process is shutting down (SIGTERM)' });
      const downs = dependencies.filter((d) => d.state === 'down');
      const down = downs.length > 0;
      // Without its request line at info, a 503 (the orchestrator takes the process out of service) still says why.
      if (down) request.log.warn({ dependencies: downs }, `not ready (/readyz 503): ${downs.map((d) => `${d.name} down${d.detail ? `: ${d.detail}` : ''}`).join('; ')}`);
      const degraded = dependencies.some((d) => d.state === 'degraded');
      return reply.code(down ? 503 : 200).send({ status: down ? 'not_ready' : degraded ? 'degraded' : 'ready', dependencies });
    });

    app.get('/metrics', { logLevel, schema: { hide: true } }, async (request, reply) => {
      // The scraper says how long it waits: a gauge whose read takes longer reports NaN rather
      // than costing the whole scrape (scrapeReader).
      const text = await withScrapeReadTimeout(scrapeReadTimeoutMs(request.headers[SCRAPE_TIMEOUT_HEADER]), () => metrics.registry.metrics());
      return reply.type(metrics.registry.contentType).send(text);
    });

    const docs = async () => fastify.swagger();
    app.get('/docs', { schema: { hide: true } }, docs);
    app.get('/docs/json', { schema: { hide: true } }, docs);
  };
}
