/**
 * Text as RFC 8785 can hash it: well-formed Unicode, a lone UTF-16 surrogate (`\ud800` without its
 * pair, which JSON lets a string escape) replaced with U+FFFD. RFC 8785 hashes UTF-8, which has no
 * form for a lone surrogate: an event holding one has a hash only JavaScript's JSON.stringify
 * reproduces (a Python or Go auditor cannot even hold such a string). Used where text from outside
 * that the gateway relays enters it (an upstream's tools, results and errors, a model's answer), so
 * that what is passed on and what is recorded and hashed are the same text.
 * Strings, object keys and array items are replaced, at any depth; a value already well-formed is
 * returned as it is (the same object), so the common case costs one scan and no copy. Two keys that
 * differ only in their lone surrogates become one (the later wins): no text outside JavaScript
 * could tell them apart either.
 * Requires a value no deeper than the caller's depth limit (the walk is recursive) and no cycles.
 * @example wellFormed({ text: 'a\ud800b' }) // { text: 'a\ufffdb' }
 */
export function wellFormed<T>(value: T): T {
  return isWellFormedDeep(value) ? value : (replaceDeep(value) as T);
}

/**
 * Whether every string and key of `value`, at any depth, is well-formed Unicode: a native scan per
 * string and no allocation, so the common case (nothing to find) costs little.
 * @example isWellFormedDeep({ a: ['ok'] }) // true
 */
export function isWellFormedDeep(value: unknown): boolean {
  if (typeof value === 'string') return value.isWellFormed();
  if (value === null || typeof value !== 'object') return true;
  if (Array.isArray(value)) return value.every(isWellFormedDeep);
  for (const [k, v] of Object.entries(value)) if (!k.isWellFormed() || !isWellFormedDeep(v)) return false;
  return true;
}

function replaceDeep(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed();
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(replaceDeep);
  // toJSON (a Date) is left to JSON: its text is ours, not the upstream's.
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const key = k.toWellFormed();
    // JSON.parse makes "__proto__" an own key; assigned, it would set the copy's prototype and drop the key.
    if (key === '__proto__') Object.defineProperty(out, key, { value: replaceDeep(v), enumerable: true, writable: true, configurable: true });
    else out[key] = replaceDeep(v);
  }
  return out;
}

/**
 * At most `max` UTF-16 units of `s`, never ending in the first half of a surrogate pair: a plain
 * `slice` cutting an emoji in two leaves a lone surrogate, which an event may not hold.
 * @example cutText('ab\ud83d\ude00', 3) // 'ab'
 */
export function cutText(s: string, max: number): string {
  if (s.length <= max) return s;
  const last = s.charCodeAt(max - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? max - 1 : max);
}
