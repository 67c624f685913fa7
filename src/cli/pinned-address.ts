import { isHexAddress } from '../core/address';
import { redactUrl } from '../core/errors';

/**
 * What is wrong with an address an auditor pins (`--contract`, `--signer`), or undefined. Checked
 * before anything else: unchecked, `nothex` was looked up as an ENS name ("network does not support
 * ENS") or reported as a signature by the wrong sealer.
 * @example pinnedAddressProblem('--signer', 'nothex') // "--signer nothex is not an address (0x and 40 hex digits)"
 */
export function pinnedAddressProblem(option: string, value: string | undefined): string | undefined {
  if (value === undefined || isHexAddress(value)) return undefined;
  if (value.trim() === '') return `${option} is empty: give an address (0x and 40 hex digits), or leave it unset`;
  return `${option} ${value} is not an address (0x and 40 hex digits)`;
}

/**
 * What is wrong with the chain URL a verification reads (`--rpc`, else CHAIN_RPC_URL), or
 * undefined. Checked before anything else, as the pinned addresses are: a URL no node can answer
 * at checks nothing on the chain (exit 2), where it failed the on-chain checks (exit 1, "a check failed").
 * @example rpcUrlProblem('ws://127.0.0.1:8545') // "--rpc (or CHAIN_RPC_URL) ws://127.0.0.1:8545 is not an http:// or https:// URL …"
 */
export function rpcUrlProblem(value: string | undefined): string | undefined {
  const option = '--rpc (or CHAIN_RPC_URL)';
  if (value === undefined) return undefined;
  if (value.trim() === '') return `${option} is empty: give the URL of a JSON-RPC node of the chain, or leave it unset`;
  const protocol = URL.canParse(value) ? new URL(value).protocol : undefined;
  if (protocol === 'http:' || protocol === 'https:') return undefined;
  // Masked as the on-chain checks' lines mask it (chainReadProblem): a provider's key rides in the
  // URL (Infura's /ws/v3/<key>, a password), and this line goes to stdout, which CI logs keep.
  return `${option} ${redactUrl(value, { pathKeys: true })} is not an http:// or https:// URL (the node's HTTP JSON-RPC endpoint)`;
}
