import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAnchorer } from '../../src/proofs/anchorer';
import { auditAnchorAt } from '../../src/web3/audit-anchor';
import { createRpcProvider } from '../../src/web3/provider';
import { deployAnother, openFixture, sealBatches, type Fixture } from './pipeline-fixture';

const MAX_LOG_RANGE = 100;
type RpcCall = { id: unknown; method: string; params?: { fromBlock?: string; toBlock?: string }[] };

/**
 * A JSON-RPC proxy that refuses eth_getLogs over more than MAX_LOG_RANGE blocks, as public RPC
 * providers do ("block range too large"), and forwards everything else to the node.
 */
async function rangeLimitedRpc(upstream: string): Promise<{ url: string; refused: number; close(): Promise<void> }> {
  const state = { refused: 0 };
  const latest = async () => {
    const r = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber' }) });
    return Number(((await r.json()) as { result: string }).result);
  };
  const tooWide = async (c: RpcCall) => {
    if (c.method !== 'eth_getLogs') return false;
    const f = c.params?.[0] ?? {};
    const at = async (b: string | undefined, dflt: number) => (b === undefined ? dflt : b === 'latest' || b === 'pending' ? latest() : b === 'earliest' ? 0 : Number(b));
    const head = await latest();
    return (await at(f.toBlock, head)) - (await at(f.fromBlock, head)) + 1 > MAX_LOG_RANGE;
  };
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString()) as RpcCall | RpcCall[];
    const calls = Array.isArray(body) ? body : [body];
    const answers = await Promise.all(
      calls.map(async (c) => {
        if (await tooWide(c)) {
          state.refused++;
          return { jsonrpc: '2.0', id: c.id, error: { code: -32005, message: `query exceeds max block range ${MAX_LOG_RANGE}` } };
        }
        const r = await fetch(upstream, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(c) });
        return r.json();
      }),
    );
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(Array.isArray(body) ? answers : answers[0]));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get refused() {
      return state.refused;
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

/** A batch mined but not recorded (a crash in between) is recovered on a long chain behind a public-style RPC. */
describe('anchorer recovery behind an RPC that limits eth_getLogs ranges', function () {
  this.timeout(120_000);
  let f: Fixture;
  before(async () => {
    f = await openFixture();
  });
  after(async () => f?.close());

  it('finds the BatchAnchored log of a mined but unrecorded batch (was: a log query over the whole chain, refused)', async () => {
    const contract = await deployAnother(f.chain);
    const rpc = await rangeLimitedRpc(f.chain.rpcUrl);
    const provider = createRpcProvider(f.chain.rpcUrl);
    try {
      await sealBatches(f.store, { tasks: 2, maxEvents: 1000 });
      const opts = { rpcUrl: rpc.url, contract, privateKey: f.chain.anchorerPrivateKey };
      const crashing = createAnchorer(f.store, {
        ...opts,
        faults: (point) => {
          if (point === 'after-confirm') throw new Error('killed after the anchor was mined');
        },
      });
      await crashing.tick().then(() => expect.fail('should have crashed'), (e: Error) => expect(e.message).to.match(/killed/));
      await crashing.stop();
      // The chain grows on: the anchor is now far below the head.
      await provider.send('hardhat_mine', [`0x${(3 * MAX_LOG_RANGE).toString(16)}`]);

      const restarted = createAnchorer(f.store, opts);
      const recorded: number[] = [];
      await restarted.tick();
      const stream = await restarted.anchorStream();
      for (const e of await f.store.readStream(stream)) recorded.push((e.data as { batchId: number }).batchId);
      await restarted.stop();
      const onChain = Number(await auditAnchorAt(contract, provider).nextBatchId());
      expect(onChain).to.be.greaterThan(0);
      expect(recorded, 'every anchored batch recorded, in order').to.deep.equal([...Array(onChain).keys()]);
      expect(rpc.refused, 'no log query over the whole chain').to.equal(0);
    } finally {
      provider.destroy();
      await rpc.close();
    }
  });
});
