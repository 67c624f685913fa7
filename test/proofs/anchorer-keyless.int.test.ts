/**
 * An anchorer made without a key (a process that does not run the anchorer role: api, projector,
 * sealer…) reads the chain for proofs, batches and /readyz, and refuses anything that would sign.
 */
import { expect } from 'chai';
import { createAnchorer } from '../../src/proofs/anchorer';
import { buildProof } from '../../src/proofs/batches';
import { createSealer } from '../../src/proofs/sealer';
import { openFixture, queries, SEALER_KEY, submitTasks, type Fixture } from './pipeline-fixture';

describe('createAnchorer without privateKey (read-only, for processes without the anchorer role)', function () {
  this.timeout(60_000);
  let f: Fixture;

  before(async () => {
    f = await openFixture();
  });
  after(async () => f?.close());

  it('answers target() and anchorStream() and serves proofs of what the keyed anchorer anchored', async () => {
    const tasks = await submitTasks(f.store, 3);
    const sealer = createSealer(f.store, { sealerKey: SEALER_KEY, maxEvents: 3, maxWaitMs: 60_000 });
    expect((await sealer.tick())?.batchId).to.equal(0);
    const keyed = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: f.chain.contractAddress, privateKey: f.chain.anchorerPrivateKey });
    const keyless = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: f.chain.contractAddress });
    try {
      expect(await keyed.tick()).to.equal(1);
      expect(await keyless.target()).to.deep.equal(await keyed.target());
      expect(await keyless.anchorStream()).to.equal(await keyed.anchorStream());
      const proof = await buildProof(queries(f.store, () => keyless.anchorStream()), tasks[1].id);
      expect(proof.anchor.contract).to.equal(f.chain.contractAddress.toLowerCase());
    } finally {
      await keyed.stop();
      await keyless.stop();
    }
  });

  it('refuses to anchor: tick() and start() fail naming the missing key and the role', async () => {
    const keyless = createAnchorer(f.store, { rpcUrl: f.chain.rpcUrl, contract: f.chain.contractAddress });
    try {
      const err = await keyless.tick().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).message).to.equal('this process has no anchorer key: it does not run the anchorer role');
      expect(() => keyless.start()).to.throw('this process has no anchorer key: it does not run the anchorer role');
    } finally {
      await keyless.stop();
    }
  });
});
