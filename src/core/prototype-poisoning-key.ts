/**
 * The path to the first key of a JSON.parse result (depth first, in key order) that fastify's
 * parser refuses as prototype poisoning: an own `__proto__`, or a `prototype` inside an own
 * `constructor` object (whose path ends `constructor`, `prototype`); undefined if there is none.
 * JSON.parse makes them own properties like any other, but code that copies an object by
 * assignment (or merges it deeply) would set a prototype instead. Iterative, so a body nested
 * thousands deep (refused after parsing, by depth) cannot overflow the stack here.
 * @example prototypePoisoningKey(JSON.parse('{"a":[{"__proto__":1}]}')) // ['a', 0, '__proto__']
 */
export function prototypePoisoningKey(value: unknown): (string | number)[] | undefined {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (!Array.isArray(v)) {
      if (Object.hasOwn(v, '__proto__')) return [...path, '__proto__'];
      const ctor = (v as Record<string, unknown>).constructor;
      if (Object.hasOwn(v, 'constructor') && ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) return [...path, 'constructor', 'prototype'];
    }
    const children = Object.entries(v).map(([k, x]) => ({ v: x, path: [...path, Array.isArray(v) ? Number(k) : k] }));
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return undefined;
}
