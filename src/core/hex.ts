/** `0x`-prefixed lowercase hex, the only way binary values are written (DESIGN.md). */
export type Hex = `0x${string}`;

export function toHex(bytes: Uint8Array): Hex {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
}

const HEX_RE = /^0x(?:[0-9a-fA-F]{2})*$/;

/** Parse `0x…` hex into bytes. Requires an even number of digits; `bytes` checks the length. */
export function fromHex(hex: string, bytes?: number): Buffer {
  if (typeof hex !== 'string' || !HEX_RE.test(hex)) throw new TypeError(`not 0x-prefixed hex: ${String(hex).slice(0, 80)}`);
  const out = Buffer.from(hex.slice(2), 'hex');
  if (bytes !== undefined && out.length !== bytes) throw new TypeError(`expected ${bytes} bytes of hex, got ${out.length}`);
  return out;
}

export function isHex32(value: unknown): value is Hex {
  return typeof value === 'string' && /^0x[0-9a-f]{64}$/.test(value);
}
