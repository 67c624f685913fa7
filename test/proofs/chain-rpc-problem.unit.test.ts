import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeError } from 'ethers';
import { chainRpcProblem } from '../../src/proofs/chain-rpc-problem';
import { createRpcProvider } from '../../src/web3/provider';

const URL_WITH_KEY = 'https://eth-sepolia.example/v2/AbCdEf0123456789xyzXYZ0123';

/** What ethers makes of a JSON-RPC error answer to `method` (as getRpcError does: the answer in info). */
function answered(code: 'CALL_EXCEPTION' | 'UNKNOWN_ERROR', method: string, error: { code: number; message: string }, data: string | null = null): Error {
  return code === 'CALL_EXCEPTION'
    ? makeError('missing revert data', 'CALL_EXCEPTION', { action: 'call', data, reason: null, transaction: { to: '0x' }, invocation: null, revert: null, info: { error, payload: { method } } } as never)
    : makeError('could not coalesce error', 'UNKNOWN_ERROR', { error, payload: { method } } as never);
}

/**
 * A hosted RPC that refuses calls (a rate limit, a used-up quota, a key it does not take) answers
 * each with a JSON-RPC error, or HTTP 429 to every try: the anchorer reported ethers' words for it,
 * "missing revert data" (CALL_EXCEPTION, as if the contract reverted), "could not coalesce error" or
 * "timeout", counted under those codes, which no alert watches; now DEPENDENCY_UNAVAILABLE naming
 * the node's words, as an RPC that does not answer at all is.
 */
describe('chainRpcProblem: the anchorer\'s account of an RPC that refuses its calls', () => {
  it('a JSON-RPC error answer to eth_call is the node refusing, not a revert (was: "missing revert data", CALL_EXCEPTION)', () => {
    const err = chainRpcProblem(answered('CALL_EXCEPTION', 'eth_call', { code: -32005, message: 'daily request count exceeded, request rate limited' }), URL_WITH_KEY) as { code?: string; message?: string };
    expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.equal(
      'chain RPC: the node at https://eth-sepolia.example/v2/*** refused eth_call: -32005 daily request count exceeded, request rate limited (the RPC provider\'s rate limit or quota, or a key it does not take? see its dashboard, or set CHAIN_RPC_URL to another node); anchoring waits and tries again',
    );
  });

  it('so is one ethers could not classify (UNKNOWN_ERROR "could not coalesce error")', () => {
    const err = chainRpcProblem(answered('UNKNOWN_ERROR', 'eth_getTransactionCount', { code: 429, message: 'Your app has exceeded its compute units per second capacity' }), URL_WITH_KEY) as { code?: string; message?: string };
    expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.contain('refused eth_getTransactionCount: 429 Your app has exceeded its compute units per second capacity (');
  });

  it('a request unanswered within the RPC timeout (a hung node, or HTTP 429 to each of ethers\' tries) is DEPENDENCY_UNAVAILABLE saying both (was: "timeout (operation=\\"request.send\\" …)", TIMEOUT)', () => {
    const err = chainRpcProblem(makeError('timeout', 'TIMEOUT', { operation: 'request.send', reason: 'timeout', request: {} } as never), URL_WITH_KEY) as { code?: string; message?: string };
    expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect(err.message).to.equal(
      'chain RPC: the node at https://eth-sepolia.example/v2/*** did not answer within 30 s (a node that hangs, or a provider answering HTTP 429 Too Many Requests to every try: its rate limit; see its dashboard, or set CHAIN_RPC_URL to another node); anchoring waits and tries again',
    );
  });

  it('leaves a revert, a classified refusal and anything else as they were', () => {
    const revert = answered('CALL_EXCEPTION', 'eth_call', { code: 3, message: 'execution reverted' }, '0x12345678');
    const revertNoData = answered('CALL_EXCEPTION', 'eth_estimateGas', { code: -32000, message: 'execution reverted' });
    const funds = answered('UNKNOWN_ERROR', 'eth_sendRawTransaction', { code: -32000, message: "Sender doesn't have enough funds to send tx." });
    const nonce = makeError('nonce has already been used', 'NONCE_EXPIRED', { transaction: {} } as never);
    const waited = makeError('wait for transaction timeout', 'TIMEOUT', { operation: 'wait' } as never);
    const plain = new Error('boom');
    for (const e of [revert, revertNoData, funds, nonce, waited, plain]) expect(chainRpcProblem(e, URL_WITH_KEY)).to.equal(e);
  });
});

/**
 * A hosted RPC over its rate limit answers HTTP 429 Too Many Requests: ethers sends the request
 * again and again until the RPC timeout, then reports "timeout", which names neither the 429 nor
 * the limit.
 */
describe('chainRpcProblem: an RPC answering HTTP 429 to every try', () => {
  let server: Server;
  let url: string;
  before(async () => {
    server = createServer((_req, res) => {
      res.writeHead(429, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', id: 1, error: { code: 429, message: 'Your app has exceeded its compute units per second capacity' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/AbCdEf0123456789xyzXYZ0123`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('names the 429 and the rate limit (was: "timeout (operation=\\"request.send\\" …)", TIMEOUT)', async function () {
    this.timeout(30_000);
    const provider = createRpcProvider(url, { timeoutMs: 1500 });
    try {
      const failed = await provider.send('eth_blockNumber', []).then(() => expect.fail('answered'), (e: unknown) => e);
      const err = chainRpcProblem(failed, url) as { code?: string; message?: string };
      expect(err.code).to.equal('DEPENDENCY_UNAVAILABLE');
      expect(err.message).to.equal(
        `chain RPC: the node at ${url.replace(/\/v2\/.*$/, '/v2/***')} answered HTTP 429 Too Many Requests to every try until the request gave up (the RPC provider's rate limit: see its dashboard, or set CHAIN_RPC_URL to another node); anchoring waits and tries again`,
      );
    } finally {
      provider.destroy();
    }
  });
});
