import type { FunctionFragment } from 'ethers';
import type { ContractHandle } from './chain-registry';
import { Web3Error } from './web3-error';

/** Every function of the contract's ABI with this name, as signatures (`transfer(address,uint256)`). */
export function overloadsOf(c: ContractHandle, name: string): string[] {
  return functionsOf(c)
    .filter((f) => f.name === name)
    .map((f) => f.format('sighash'));
}

function functionsOf(c: ContractHandle): FunctionFragment[] {
  return c.iface.fragments.filter((f): f is FunctionFragment => f.type === 'function');
}

/**
 * The one function `method` names: a full signature (`transfer(address,uint256)`, parameter
 * names and spaces allowed), a selector, or a bare name that only one function has. A bare name
 * shared by overloads is refused (`CONTRACT_METHOD_AMBIGUOUS`, listing them) rather than guessed:
 * the overloads may keep the amount at different positions.
 *
 * @example resolveFunction(vault, 'withdraw(uint256,uint256)').format('sighash')
 */
export function resolveFunction(c: ContractHandle, method: string): FunctionFragment {
  if (!method.includes('(') && !/^0x[0-9a-fA-F]{8}$/.test(method)) {
    const overloads = overloadsOf(c, method);
    if (overloads.length > 1) {
      throw new Web3Error('CONTRACT_METHOD_AMBIGUOUS', `${c.name}.${method} is overloaded: name one of ${overloads.join(', ')} as the method`);
    }
  }
  let f: FunctionFragment | null = null;
  try {
    f = c.iface.getFunction(method);
  } catch (err) {
    throw new Web3Error('CONTRACT_CALL_FAILED', `${c.name}.${method}: ${(err as Error).message.split(' (')[0]}`);
  }
  if (!f) throw new Web3Error('CONTRACT_CALL_FAILED', `${c.name} has no method ${method} (has ${functionsOf(c).map((x) => x.format('sighash')).join(', ')})`);
  return f;
}

/**
 * What the policy engine needs to know of a function beyond the proposal: its parameter names
 * (an `amountArg` may name one) and every signature sharing its name (a rule keyed by a bare name
 * never applies to an overloaded method).
 */
export type FunctionFacts = { inputs: string[]; overloads: string[] };

export function functionFacts(c: ContractHandle, f: FunctionFragment): FunctionFacts {
  return { inputs: f.inputs.map((p) => p.name), overloads: overloadsOf(c, f.name) };
}
