import type { FastifyInstance } from 'fastify';

/** The order an Allow header lists methods in (RFC 9110 sets none): reads, then writes, as /docs lists them. */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const rank = (m: string) => (ORDER.includes(m) ? ORDER.indexOf(m) : ORDER.length);

/**
 * The methods `app` serves at a path, for a 405's `Allow`: of the methods its routes were
 * registered with (onRoute sees every route, fastify's own HEAD twin of a GET route and those of
 * plugins registered later included), those for which fastify's own router finds a route for the
 * path. A path that only a catch-all (`/ui/*`) takes names no resource (its GET answers 404 for
 * all but the assets): no methods, so it stays 404. Call before the routes are added.
 * @example const allowed = allowedMethods(app); …; allowed('/v1/tasks?limit=1') // ['GET', 'HEAD', 'POST']
 */
export function allowedMethods(app: FastifyInstance): (url: string) => string[] {
  const methods = new Set<string>();
  let ordered: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const m of [route.method].flat()) methods.add(m.toUpperCase());
    ordered = [...methods].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  });
  return (url) =>
    ordered.filter((method) => {
      const found = app.findRoute({ method: method as 'GET', url });
      return found !== null && !('*' in found.params);
    });
}
