import { redactUrl } from '../core/errors';

const CONNECTION_FAILURE = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH/;

/** The parts of an ethers v6 error this reads (info of SERVER_ERROR and UNSUPPORTED_OPERATION, a JSON-RPC error's own). */
type EthersError = {
  message?: string;
  code?: string;
  operation?: string;
  info?: { responseStatus?: string; responseBody?: string; protocol?: string } & RpcErrorAnswer;
} & RpcErrorAnswer;
/** A JSON-RPC error answer and the request it answered: on the error itself, or in its info (a method ethers maps to UNSUPPORTED_OPERATION). */
type RpcErrorAnswer = { error?: { code?: unknown; message?: unknown }; payload?: { method?: unknown } };

/**
 * Why a verifier could not read the chain, for its user: the error's own words, and, when nothing
 * answered at `rpcUrl` as a JSON-RPC node does (refused, unknown host, an HTTP error status, a page
 * that is not JSON, a URL of another scheme or no URL at all), what to do about it: the chain to ask is the one the
 * proof's anchor names, given with --rpc (the default is CHAIN_RPC_URL, else the embedded chain on
 * CHAIN_PORT, which only a gateway running here serves). A JSON-RPC error answer names the method
 * refused and the node's words, not ethers' "could not coalesce error (…)".
 * @example chainReadProblem(new Error('connect ECONNREFUSED 127.0.0.1:8545'), 'http://127.0.0.1:8545', 31337)
 */
export function chainReadProblem(err: unknown, rpcUrl: string, chainId?: number): string {
  const e = (err ?? {}) as EthersError;
  const url = redactUrl(rpcUrl, { pathKeys: true });
  const chain = chainId === undefined ? 'the chain the batch was anchored on' : `chain ${chainId}, where the batch was anchored`;
  const hint = `pass --rpc with the URL of a node of ${chain}`;
  const notRpc = (what: string) => `${url} ${what}, not as a JSON-RPC node does: ${hint}`;
  if (e.code === 'ERR_INVALID_URL') return `${url} is not a URL: ${hint}`;
  if (e.code === 'SERVER_ERROR' && e.info?.responseStatus) {
    const body = e.info.responseBody ? ` (${JSON.stringify(e.info.responseBody.slice(0, 100))})` : '';
    return notRpc(`answered HTTP ${e.info.responseStatus}${body}`);
  }
  if (e.code === 'UNSUPPORTED_OPERATION' && e.operation === 'bodyJson') return notRpc('answered with something that is not JSON');
  if (e.code === 'UNSUPPORTED_OPERATION' && e.info?.protocol !== undefined && !e.info.error) return `${url} is not an http:// or https:// URL: ${hint}`;
  // A revert (CALL_EXCEPTION) keeps ethers' words, which decode the contract's custom error.
  for (const a of e.code === 'CALL_EXCEPTION' ? [] : [e, e.info]) {
    if (a?.error && typeof a.error.code === 'number' && typeof a.payload?.method === 'string') {
      return `the node at ${url} refused ${a.payload.method}: ${a.error.code} ${String(a.error.message).slice(0, 200)}`;
    }
  }
  const said = String(e.message ?? err).slice(0, 200);
  if (!CONNECTION_FAILURE.test(said)) return said;
  return `${said}: no JSON-RPC node answers at ${url}; ${hint}`;
}
