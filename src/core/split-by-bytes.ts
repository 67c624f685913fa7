/**
 * Cut `items` into consecutive parts, in order, whose sizes add up to at most `maxBytes` each and
 * that hold at most `maxItems` items; an item larger than `maxBytes` alone is a part of its own
 * (never dropped). Requires maxBytes > 0 and maxItems > 0.
 * @example splitByBytes([a, b, c], (x) => x.bytes, 1 << 20) // [[a, b], [c]]
 */
export function splitByBytes<T>(items: T[], size: (item: T) => number, maxBytes: number, maxItems = Infinity): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const n = size(item);
    if (part.length > 0 && (part.length >= maxItems || bytes + n > maxBytes)) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(item);
    bytes += n;
  }
  if (part.length) parts.push(part);
  return parts;
}
