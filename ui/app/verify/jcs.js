// RFC 8785 (JCS) canonical JSON, as the server hashes it (src/core/canonical.ts).
// Event data holds only strings, safe integers, booleans, null, arrays and objects, so number
// serialization is the ECMAScript one JCS specifies; anything else is refused, never guessed.

/** @param {unknown} value @returns {string} */
export function canonicalJson(value) {
  return write(value, '$');
}

/** @param {unknown} v @param {string} path @returns {string} */
function write(v, path) {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean':
      return v ? 'true' : 'false';
    case 'string':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isSafeInteger(v)) throw new Error(`${path}: numbers must be safe integers`);
      return String(v);
    case 'object': {
      if (Array.isArray(v)) return `[${v.map((x, i) => write(x === undefined ? null : x, `${path}[${i}]`)).join(',')}]`;
      // JCS orders keys by UTF-16 code units, which is what the default sort compares.
      const keys = Object.keys(v).filter((k) => /** @type {Record<string, unknown>} */ (v)[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${write(/** @type {Record<string, unknown>} */ (v)[k], `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new Error(`${path}: ${typeof v} has no canonical JSON form`);
  }
}
