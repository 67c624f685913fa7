/**
 * The most a transaction can take from its sender's native balance: its value plus its whole gas
 * limit at the highest fee per gas it is signed with (`maxFeePerGas`; the `gasPrice` of a legacy
 * transaction). What a native daily cap counts when the transaction is signed. (A rollup's L1
 * data fee is outside gasLimit × fee and is not in it.)
 * Requires `value` and `gas` to be decimal strings (a Proposal's).
 *
 * @example maxNativeCost({ value: '5', gas: '21000' }, 2n) // 42005n
 */
export function maxNativeCost(p: { value: string; gas: string }, maxFeePerGas: bigint): bigint {
  return BigInt(p.value) + BigInt(p.gas) * maxFeePerGas;
}
