import { sqlOutage } from './connection-failure';

/** Whether `prop` is a method of `target`'s class (not a field, not a getter: a knex instance is a function too). */
function isMethod(target: object, prop: PropertyKey): boolean {
  if (prop === 'constructor' || Object.hasOwn(target, prop)) return false;
  for (let p = Object.getPrototypeOf(target); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, prop);
    if (d) return typeof d.value === 'function';
  }
  return false;
}

/**
 * `target` with every method of its class whose promise rejects with a database outage
 * (isConnectionFailure: connection refused or lost, a deadlock, SQLite busy, no pooled connection
 * in time) rejecting with UnavailableError instead, named `<what>: <method>: <driver code>`
 * (sqlOutage): 503 DEPENDENCY_UNAVAILABLE on REST, as the event store's own outages. Any other
 * rejection (a constraint, bad SQL, a bug) and every value that is not a promise pass as they are.
 *
 * For adapters whose methods are a few statements each and are called on requests (the key store,
 * the read models): without it the driver's raw error reached the API's error handler, which
 * answers 500 INTERNAL for what it does not know, while MariaDB was down for a moment.
 * @example constructor(knex: Knex) { return reportSqlOutages(this, `api keys (${dialectOf(knex)})`); }
 */
export function reportSqlOutages<T extends object>(target: T, what: string): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver);
      if (typeof value !== 'function' || !isMethod(t, prop)) return value;
      let w = wrapped.get(prop);
      if (!w) {
        const fn = value as (...args: unknown[]) => unknown;
        const op = String(prop);
        w = function (this: unknown, ...args: unknown[]) {
          const out = fn.apply(this, args);
          return out instanceof Promise ? out.catch((err: unknown) => Promise.reject(sqlOutage(err, what, op))) : out;
        };
        wrapped.set(prop, w);
      }
      return w;
    },
  });
}
