import { isError } from 'ethers';
import { ConfigError } from '../core/errors';

/**
 * The anchorer's refusal of a chain other than CHAIN_ID: a setting to fix (CONFIG_INVALID, counted
 * and alerted as such), not an outage.
 * @example wrongChainError(1, 31337) // CHAIN_ID is 1 but CHAIN_RPC_URL serves chain 31337: …
 */
export function wrongChainError(expected: number, chainId: number): ConfigError {
  return new ConfigError(`CHAIN_ID is ${expected} but CHAIN_RPC_URL serves chain ${chainId}: anchoring nothing there (check CHAIN_RPC_URL, or CHAIN_ID)`, {
    variable: 'CHAIN_ID',
    expected,
    chainId,
  });
}

/**
 * `err` as the anchorer reports it when it is ethers' refusal of a provider whose chain id changed
 * since its first answer (NETWORK_ERROR "network changed: A => B", thrown by every call from then
 * on): wrongChainError with CHAIN_ID set, else CONFIG_INVALID naming the chain first served, the one
 * served now and both ways out. Any other error is returned as it is.
 * @example chainChangedError(err) // CHAIN_RPC_URL served chain 11155111 when the anchorer started and now serves chain 1: …
 */
export function chainChangedError(err: unknown, pinnedChainId?: number): unknown {
  if (!isError(err, 'NETWORK_ERROR') || (err as { event?: unknown }).event !== 'changed') return err;
  const ids = /network changed: (\d+) => (\d+)/.exec(err.shortMessage);
  if (!ids) return err;
  const [was, now] = [Number(ids[1]), Number(ids[2])];
  if (pinnedChainId !== undefined) return wrongChainError(pinnedChainId, now);
  return new ConfigError(
    `CHAIN_RPC_URL served chain ${was} when the anchorer started and now serves chain ${now}: anchoring nothing there (point CHAIN_RPC_URL back at a node of chain ${was}; to anchor on chain ${now} instead, set CHAIN_ID=${now} and restart: a new deployment, every batch anchored again)`,
    { variable: 'CHAIN_RPC_URL', expected: was, chainId: now },
  );
}
