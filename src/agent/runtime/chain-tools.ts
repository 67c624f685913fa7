import type { FunctionFragment } from 'ethers';
import type { ChainRegistry } from '../../web3/chain-registry';
import type { ToolInfo } from './tool-caller';
import { READ_CONTRACT_TOOL, SEND_TRANSACTION_TOOL } from '../../core/chain-tool-names';

// The names live in src/core, below the read models that recognise them too.
export { READ_CONTRACT_TOOL, SEND_TRANSACTION_TOOL, isChainToolName } from '../../core/chain-tool-names';

function catalogText(reg: ChainRegistry, constant: boolean): string {
  return reg
    .list()
    .flatMap((c) =>
      c.contracts.map((k) => {
        const fns = k.iface.fragments.filter((f): f is FunctionFragment => f.type === 'function' && (f as FunctionFragment).constant === constant);
        return `chain ${c.chainId} ${k.name} (${k.address}): ${fns.map((f) => f.format('sighash')).join(', ') || 'none'}`;
      }),
    )
    .join('; ');
}

/**
 * The runtime's built-in web3 tools, offered to the model beside the gateway's tools. They run
 * in the runtime (not through the gateway) because a transaction goes through the policy engine,
 * approvals and the nonce manager; their evidence is the step, policy and transaction events.
 */
export function chainTools(reg: ChainRegistry): ToolInfo[] {
  const callProps = {
    chainId: { type: 'integer', description: 'EVM chain id' },
    contract: { type: 'string', description: 'configured contract name or address' },
    method: { type: 'string', description: 'function name (or full signature if overloaded)' },
    args: { type: 'array', description: 'arguments in order; integers as decimal strings', items: {} },
  };
  return [
    {
      name: READ_CONTRACT_TOOL,
      description: `Read a smart contract (eth_call of a view function). Contracts: ${catalogText(reg, true)}`,
      inputSchema: { type: 'object', properties: callProps, required: ['chainId', 'contract', 'method'] },
      annotations: { readOnlyHint: true, idempotentHint: true },
    },
    {
      name: SEND_TRANSACTION_TOOL,
      description: `Propose a transaction to a smart contract; it is checked by policy, may wait for human approval, then is signed, sent and mined. Functions: ${catalogText(reg, false)}`,
      inputSchema: {
        type: 'object',
        properties: { ...callProps, value: { type: 'string', description: 'wei to send (decimal string), default 0' }, gasLimit: { type: 'string', description: 'optional gas limit' } },
        required: ['chainId', 'contract', 'method'],
      },
      annotations: { readOnlyHint: false, idempotentHint: false },
    },
  ];
}
