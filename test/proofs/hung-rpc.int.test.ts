import { expect } from 'chai';
import { createAnchorer } from '../../src/proofs/anchorer';
import { cutProxy } from '../support/cut-proxy';
import { openFixture, type Fixture } from './pipeline-fixture';

/**
 * A chain RPC that accepts connections and never answers (a stalled node, a proxy with nothing
 * behind it). A request waits up to 30 s (5 minutes before); what the API and /metrics ask of the
 * anchorer (the current anchor stream) must not wait that long.
 */
describe('anchor stream queries while the chain RPC hangs', function () {
  this.timeout(60_000);
  let f: Fixture;
  before(async () => {
    f = await openFixture();
  });
  after(async () => f?.close());

  it('answers with the stream of the chain last seen (was: every proof, batch and /metrics request hung for minutes)', async () => {
    const url = new URL(f.chain.rpcUrl);
    const proxy = await cutProxy(url.hostname, Number(url.port));
    const forQueries = createAnchorer(f.store, { rpcUrl: `http://127.0.0.1:${proxy.port}`, contract: f.chain.contractAddress, privateKey: f.chain.anchorerPrivateKey, targetMaxAgeMs: 0, queryWaitMs: 200 });
    try {
      const before = await forQueries.anchorStream();
      // Open connections cut (up() drops them), new ones accepted and never answered.
      await proxy.up();
      proxy.freeze();
      // A request sent on a kept-alive connection before its client saw the cut meets the cut.
      const cut = (e: { code?: string; message?: string }) => e.code === 'ECONNRESET' || /socket hang up/.test(e.message ?? '');
      expect(await forQueries.anchorStream().catch((e) => (cut(e) ? forQueries.anchorStream() : Promise.reject(e)))).to.equal(before);
      expect(await forQueries.anchorStream()).to.equal(before);
    } finally {
      await proxy.up();
      await forQueries.stop();
      await proxy.close();
    }
  });
});
