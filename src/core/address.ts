/**
 * An EVM account or contract address as written in configuration, files and requests: `0x` and
 * 40 hex digits of either case. No checksum test (a lowercase address has none to test) and no
 * ENS names: a value that fails is refused, never looked up.
 */
export const ADDRESS_PATTERN = /^0x[0-9a-fA-F]{40}$/;

/** @example isHexAddress('0x' + 'ab'.repeat(20)) // true; isHexAddress('vitalik.eth') // false */
export function isHexAddress(value: unknown): value is `0x${string}` {
  return typeof value === 'string' && ADDRESS_PATTERN.test(value);
}
