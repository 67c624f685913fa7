import type { FastifyInstance } from 'fastify';

/** The order an Allow header lists methods in (RFC 9110 sets none): reads, then writes, as /docs lists them. */
const ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const rank = (m: string) => (ORDER.includes(m) ? ORDER.indexOf(m) : ORDER.length);

/**
 * The methods `app` serves at a path, for a 405's `Allow`: of the methods its routes were
 * registered with (onRoute sees every route, fastify's own HEAD twin of a GET route and those of
 * plugins registered later included), those for which fastify's own router finds a route for the
 * path. A path that only a catch-all (`/ui/*`) takes names no resource (its GET answers 404 for
 * all but the assets): no methods, so it stays 404. Nor does a URL the router refuses (a segment
 * over maxParamLength, bad percent-encoding): its answer for such a URL is a stand-in with no
 * params, told apart from a static route's as its path is none of theirs. Call before the routes are added.
 * @example const allowed = allowedMethods(app); …; allowed('/v1/tasks?limit=1') // ['GET', 'HEAD', 'POST']
 */
export function allowedMethods(app: FastifyInstance): (url: string) => string[] {
  const methods = new Set<string>();
  const staticPaths = new Set<string>();
  let ordered: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const m of [route.method].flat()) methods.add(m.toUpperCase());
    ordered = [...methods].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    if (!/[:*]/.test(route.url)) staticPaths.add(route.url);
  });
  return (url) => {
    const path = url.split('?')[0];
    return ordered.filter((method) => {
      const found = app.findRoute({ method: method as 'GET', url });
      if (found === null || '*' in found.params) return false;
      return Object.keys(found.params).length > 0 || staticPaths.has(path);
    });
  };
}
