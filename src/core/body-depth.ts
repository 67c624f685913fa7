export const MAX_BODY_DEPTH = 64;

/**
 * How deep an upstream's result (and a JSON-RPC error's `data`, and a listed tool) may nest: deeper than any real
 * document, and far from where the audit's hashing (RFC 8785 is recursive) exhausted V8's stack,
 * near 3,000 levels. A deeper result is withheld, its call recorded failed (AUDIT_UNAVAILABLE); deeper
 * error data is left out of the error passed on; a deeper tool is left out of the catalog (toolRecords).
 */
export const MAX_RESULT_DEPTH = 1000;

/** Nesting depth of a parsed JSON value, iteratively (no recursion to overflow); stops past `limit`. */
export function bodyDepth(value: unknown, limit: number): number {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) max = d;
    if (max > limit) return max;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
}
