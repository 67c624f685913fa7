// A proposal's arguments as an approver reads them: each with its parameter name and type from
// the contract's ABI, and a token amount in the token's own units beside the raw integer.
import { formatUnits } from './format.js';

/** ERC-20's amount parameter, by function signature: the standard fixes what these integers mean. */
const ERC20_AMOUNT_ARG = /** @type {Record<string, number>} */ ({
  'transfer(address,uint256)': 1,
  'approve(address,uint256)': 1,
  'transferFrom(address,address,uint256)': 2,
  'increaseAllowance(address,uint256)': 1,
  'decreaseAllowance(address,uint256)': 1,
});

/** @typedef {{ name: string, type: string }} AbiInput */
/** @typedef {{ name?: string, method?: { signature: string, inputs: AbiInput[] }, token?: { symbol: string, decimals: number } }} ContractDescription */
/** @typedef {{ label: string, type?: string, value: string, inUnits?: string }} ArgLine */

/**
 * One line per argument. Without a description (contract unknown to this server) the lines
 * still show every raw value, numbered. @param {{ method: string, args?: unknown[] }} proposal
 * @param {ContractDescription|undefined} contract @returns {ArgLine[]}
 */
export function describeArgs(proposal, contract) {
  const inputs = contract?.method?.inputs;
  const sighash = inputs ? `${proposal.method}(${inputs.map((i) => i.type).join(',')})` : undefined;
  const amountAt = sighash !== undefined && contract?.token ? ERC20_AMOUNT_ARG[sighash] : undefined;
  return (proposal.args ?? []).map((a, i) => {
    const value = typeof a === 'string' ? a : JSON.stringify(a);
    const input = inputs?.[i];
    const line = /** @type {ArgLine} */ ({ label: input?.name || `#${i + 1}`, value, ...(input ? { type: input.type } : {}) });
    if (i === amountAt && contract?.token && typeof a === 'string' && /^\d+$/.test(a)) line.inUnits = formatUnits(a, contract.token.decimals, contract.token.symbol);
    return line;
  });
}
