/**
 * The agent runtime's own chain tools, by name: what the runtime offers and runs (src/agent/runtime/chain-tools.ts)
 * and what the read models recognise in a step (a chain step makes no gateway call). Here, below both,
 * so that a read model need not import the runtime.
 */
export const READ_CONTRACT_TOOL = 'chain__read_contract';
export const SEND_TRANSACTION_TOOL = 'chain__send_transaction';

/**
 * The runtime's own tool names. An MCP server a tenant registers as `chain` can list tools of the
 * same names; those are never offered or called in their place (see TaskRun).
 * @example isChainToolName('chain__send_transaction') // true
 */
export function isChainToolName(name: string): boolean {
  return name === READ_CONTRACT_TOOL || name === SEND_TRANSACTION_TOOL;
}
