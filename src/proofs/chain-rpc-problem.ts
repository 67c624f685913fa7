import { isError } from 'ethers';
import { redactUrl, UnavailableError } from '../core/errors';
import { RPC_TIMEOUT_MS, wasRateLimited } from '../web3/provider';
import { isInsufficientFunds } from '../web3/insufficient-funds';

/** A JSON-RPC error answer and the request it answered, as ethers keeps them (on the error, or in its info). */
type RpcErrorAnswer = { error?: { code?: unknown; message?: unknown }; payload?: { method?: unknown } };
type EthersError = RpcErrorAnswer & { code?: unknown; operation?: unknown; data?: unknown; info?: RpcErrorAnswer };

/** What the anchorer's message ends with: where to look, and that it retries. */
const ANCHORER_NEXT = 'see its dashboard, or set CHAIN_RPC_URL to another node); anchoring waits and tries again';

/**
 * A JSON-RPC error answer that is the node refusing the call, not the chain's answer to it: ethers
 * could not classify it (UNKNOWN_ERROR "could not coalesce error"), or took it for a revert
 * (CALL_EXCEPTION "missing revert data": every error answer to eth_call or eth_estimateGas is one
 * to ethers) though it has no revert data and does not say "revert". Undefined for anything else.
 */
export function rpcRefusal(err: unknown): { method: string; code: number; message: string } | undefined {
  const e = (err ?? {}) as EthersError;
  if (!isError(err, 'UNKNOWN_ERROR') && !(isError(err, 'CALL_EXCEPTION') && e.data == null)) return undefined;
  // Hardhat's "Sender doesn't have enough funds" is UNKNOWN_ERROR too: named by the anchorer as ANCHORER_NO_FUNDS.
  if (isInsufficientFunds(err)) return undefined;
  for (const a of [e, e.info]) {
    if (a?.error && typeof a.error.code === 'number' && typeof a.payload?.method === 'string') {
      const message = String(a.error.message ?? '');
      if (a.error.code === 3 || /revert/i.test(message)) return undefined;
      return { method: a.payload.method, code: a.error.code, message };
    }
  }
  return undefined;
}

/**
 * `err` as the anchorer reports it: an RPC that refuses its calls (a rate limit, a used-up quota, a
 * key it does not take: a JSON-RPC error answer, see rpcRefusal), answers HTTP 429 to every try
 * (wasRateLimited), or leaves a request unanswered for
 * RPC_TIMEOUT_MS (a hung node, or HTTP 429 to every one of ethers' tries) is DEPENDENCY_UNAVAILABLE,
 * as one that cannot be reached is, in the node's words and with what to do; the URL's key masked.
 * Anything else is returned as it is. `next` ends the message (what to do, after "see its dashboard, or "):
 * a command names its option instead of the anchorer's CHAIN_RPC_URL and retries.
 * @example chainRpcProblem(err, 'https://eth-sepolia.example/v2/<key>') // chain RPC: the node at https://eth-sepolia.example/v2/*** refused eth_call: -32005 …
 */
export function chainRpcProblem(err: unknown, rpcUrl: string, next = ANCHORER_NEXT): unknown {
  const url = redactUrl(rpcUrl, { pathKeys: true });
  const refused = rpcRefusal(err);
  if (refused) {
    return new UnavailableError(
      'chain RPC',
      `the node at ${url} refused ${refused.method}: ${refused.code} ${refused.message.slice(0, 200)} (the RPC provider's rate limit or quota, or a key it does not take? ${next}`,
      err,
    );
  }
  const e = (err ?? {}) as EthersError;
  if ((isError(err, 'TIMEOUT') || isError(err, 'SERVER_ERROR')) && wasRateLimited(err)) {
    return new UnavailableError('chain RPC', `the node at ${url} answered HTTP 429 Too Many Requests to every try until the request gave up (the RPC provider's rate limit: ${next}`, err);
  }
  if (isError(err, 'TIMEOUT') && typeof e.operation === 'string' && e.operation.startsWith('request')) {
    return new UnavailableError(
      'chain RPC',
      `the node at ${url} did not answer within ${RPC_TIMEOUT_MS / 1000} s (a node that hangs, or a provider answering HTTP 429 Too Many Requests to every try: its rate limit; ${next}`,
      err,
    );
  }
  return err;
}
