// Byte helpers for the in-browser verifier. Hex is 0x-prefixed lowercase, as everywhere in the product.

/** @param {Uint8Array} bytes @returns {string} */
export function toHex(bytes) {
  let s = '0x';
  for (const b of bytes) s += b.toString(16).padStart(2, '0');
  return s;
}

/**
 * @param {string} hex 0x-prefixed; `length` (bytes) is checked when given
 * @param {number} [length]
 * @returns {Uint8Array}
 */
export function fromHex(hex, length) {
  if (typeof hex !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(hex)) throw new Error(`not 0x-prefixed hex: ${String(hex).slice(0, 80)}`);
  const out = new Uint8Array((hex.length - 2) / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 + 2 * i, 4 + 2 * i), 16);
  if (length !== undefined && out.length !== length) throw new Error(`expected ${length} bytes, got ${out.length}`);
  return out;
}

/** @param {...Uint8Array} parts */
export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** An unsigned integer as `size` big-endian bytes (seq is 8, ABI words are 32). @param {number|bigint} n @param {number} size */
export function uintBE(n, size) {
  let v = BigInt(n);
  if (v < 0n) throw new Error('negative integer');
  const out = new Uint8Array(size);
  for (let i = size - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (v !== 0n) throw new Error(`${n} does not fit in ${size} bytes`);
  return out;
}

export const utf8 = (/** @type {string} */ s) => new TextEncoder().encode(s);
