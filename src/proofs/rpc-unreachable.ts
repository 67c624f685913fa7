import { redactUrl } from '../core/errors';

const CONNECTION_FAILURE = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/;

/**
 * Why a verifier could not read the chain, for its user: the error's own words, and, when nothing
 * answered at `rpcUrl` at all (refused, unknown host), what to do about it: the chain to ask is the
 * one the proof's anchor names, given with --rpc (the default is CHAIN_RPC_URL, else the embedded
 * chain on CHAIN_PORT, which only a gateway running here serves).
 * @example chainReadProblem(new Error('connect ECONNREFUSED 127.0.0.1:8545'), 'http://127.0.0.1:8545', 31337)
 */
export function chainReadProblem(err: unknown, rpcUrl: string, chainId?: number): string {
  const said = String((err as Error)?.message ?? err).slice(0, 200);
  if (!CONNECTION_FAILURE.test(said)) return said;
  const chain = chainId === undefined ? 'the chain the batch was anchored on' : `chain ${chainId}, where the batch was anchored`;
  return `${said}: no JSON-RPC node answers at ${redactUrl(rpcUrl, { pathKeys: true })}; pass --rpc with the URL of a node of ${chain}`;
}
