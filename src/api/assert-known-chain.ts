import { ValidationError } from '../core/errors';

/**
 * Refuse a task's `chainId` that none of the configured chains (CHAINS_FILE) has: a typo would
 * otherwise run the task under a wrong assumption (the chain steps' default, the model's hint).
 * With no chain configured there is nothing to check against: any chainId is taken, a hint for the
 * model and its MCP tools. Throws VALIDATION_FAILED naming `body.chainId` and the chain ids it could be.
 * @example assertKnownChain([31337], 5) // throws: "body.chainId: chain 5 is not configured on this gateway (CHAINS_FILE lists 31337)"
 */
export function assertKnownChain(chainIds: readonly number[] | undefined, chainId: number | undefined): void {
  if (chainId === undefined || !chainIds?.length || chainIds.includes(chainId)) return;
  throw new ValidationError(`body.chainId: chain ${chainId} is not configured on this gateway (CHAINS_FILE lists ${chainIds.join(', ')})`, { field: 'body.chainId' });
}
