/**
 * The path of the first object in `value` (depth first, in key order) that holds an own key named
 * `__proto__`, or undefined. JSON.parse and YAML make such a key an own property like any other,
 * but code that copies an object by assignment (zod's `z.record` among it) sets the copy's
 * prototype instead, and the key is gone without a word. Iterative, so a deep document cannot
 * overflow the stack; each object is walked once, so YAML aliases (one object reached from many
 * places, or from inside itself: `a: &x {b: *x}`) neither multiply the walk nor loop it forever.
 * @example protoKeyPath(JSON.parse('{"a":[{"__proto__":1}]}')) // ['a', 0]
 */
export function protoKeyPath(value: unknown): (string | number)[] | undefined {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  const seen = new Set<object>();
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (v === null || typeof v !== 'object' || seen.has(v)) continue;
    seen.add(v);
    if (!Array.isArray(v) && Object.hasOwn(v, '__proto__')) return path;
    const children = Object.entries(v).map(([k, x]) => ({ v: x, path: [...path, Array.isArray(v) ? Number(k) : k] }));
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]);
  }
  return undefined;
}
