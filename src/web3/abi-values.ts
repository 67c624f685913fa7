import type { ParamType } from 'ethers';

/**
 * ABI values in their canonical JSON form: integers as decimal strings, addresses and bytes as
 * lowercase hex, arrays and tuples as arrays. Decoding what was encoded and normalizing gives
 * one form per value, whatever the caller wrote ("100", 100, "0xABC…" vs "0xabc…").
 */
export function normalizeAbiValue(value: unknown, type: ParamType): unknown {
  if (type.baseType === 'array') return (value as unknown[]).map((v) => normalizeAbiValue(v, type.arrayChildren!));
  if (type.baseType === 'tuple') return type.components!.map((c, i) => normalizeAbiValue((value as unknown[])[i], c));
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string' && (type.baseType === 'address' || type.baseType.startsWith('bytes'))) return value.toLowerCase();
  return value;
}

export function normalizeAbiValues(values: readonly unknown[], types: readonly ParamType[]): unknown[] {
  return types.map((t, i) => normalizeAbiValue(values[i], t));
}
