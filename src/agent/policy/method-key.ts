import { FunctionFragment } from 'ethers';

/**
 * A `methods` key in its canonical form: a full signature as `name(type,…)` (what
 * `FunctionFragment.format('sighash')` gives: `transfer(address to, uint amount)` →
 * `transfer(address,uint256)`), a bare name unchanged. Throws on a signature that does not parse.
 */
export function canonicalMethodKey(key: string): string {
  if (!key.includes('(')) return key;
  return FunctionFragment.from(key.trim().startsWith('function ') ? key : `function ${key}`).format('sighash');
}

/** Whether a (canonical) `methods` key is a full signature rather than a bare name. */
export function isSignatureKey(key: string): boolean {
  return key.includes('(');
}
