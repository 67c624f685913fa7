/**
 * The path to the first key of a JSON.parse result (depth first, in key order) that fastify's
 * parser (secure-json-parse) refuses as prototype poisoning: an own `__proto__`, or a `prototype`
 * inside an own `constructor` object (whose path ends `constructor`, `prototype`); undefined if
 * there is none. JSON.parse makes them own properties like any other, but code that copies an
 * object by assignment (or merges it deeply) would set a prototype instead. Iterative, so a body
 * nested thousands deep cannot overflow the stack here; only objects and arrays are visited, each
 * linked to its parent, so the path is built once, for the key found (not copied per node).
 * Used to name the key of a body fastify's parser refused, not to decide whether to refuse it.
 * @example prototypePoisoningKey(JSON.parse('{"a":[{"__proto__":1}]}')) // ['a', 0, '__proto__']
 */
export function prototypePoisoningKey(value: unknown): (string | number)[] | undefined {
  type Node = { v: object; key: string | number; up: Node | undefined };
  const pathTo = (n: Node, ...tail: string[]) => {
    const path: (string | number)[] = tail;
    for (let x: Node | undefined = n; x?.up; x = x.up) path.unshift(x.key);
    return path;
  };
  if (value === null || typeof value !== 'object') return undefined;
  const stack: Node[] = [{ v: value, key: '', up: undefined }];
  while (stack.length) {
    const node = stack.pop()!;
    const v = node.v as Record<string, unknown>;
    const array = Array.isArray(v);
    if (!array) {
      if (Object.hasOwn(v, '__proto__')) return pathTo(node, '__proto__');
      const ctor = v.constructor;
      if (Object.hasOwn(v, 'constructor') && ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) return pathTo(node, 'constructor', 'prototype');
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const x = v[keys[i]];
      if (x !== null && typeof x === 'object') stack.push({ v: x, key: array ? Number(keys[i]) : keys[i], up: node });
    }
  }
  return undefined;
}
