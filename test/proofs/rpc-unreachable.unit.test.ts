import { expect } from 'chai';
import { chainReadProblem } from '../../src/proofs/rpc-unreachable';
import { verifyBatchExport } from '../../src/proofs/verify-batch';

/** A verifier that finds no node at its RPC URL says what to pass (it said only "connect ECONNREFUSED 127.0.0.1:8545"). */
describe('openmcp verify / verify-batch with no chain at the RPC URL', () => {
  it('names the URL and --rpc, with the chain the proof was anchored on', () => {
    const said = chainReadProblem(new Error('connect ECONNREFUSED 127.0.0.1:8545'), 'http://127.0.0.1:8545', 31337);
    expect(said).to.equal('connect ECONNREFUSED 127.0.0.1:8545: no JSON-RPC node answers at http://127.0.0.1:8545/; pass --rpc with the URL of a node of chain 31337, where the batch was anchored');
  });

  it('masks a key in the URL it names, and leaves other errors as they were', () => {
    expect(chainReadProblem(new Error('getaddrinfo ENOTFOUND mainnet.example'), 'https://mainnet.example/v3/abcdef0123456789abcdef0123')).to.contain('https://mainnet.example/v3/***;');
    expect(chainReadProblem(new Error('could not decode result data'), 'http://127.0.0.1:8545', 1)).to.equal('could not decode result data');
  });

  it('verify-batch against a closed port reports it in its root check', async function () {
    this.timeout(60_000);
    const results = await verifyBatchExport({ batchId: 0, events: [], rpcUrl: 'http://127.0.0.1:1', contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' });
    const root = results.find((r) => r.name === 'root');
    expect(root?.ok).to.equal(false);
    expect(root?.detail).to.match(/no JSON-RPC node answers at http:\/\/127\.0\.0\.1:1\/; pass --rpc/);
  });
});
