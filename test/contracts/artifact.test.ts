import { expect } from 'chai';
import { Interface } from 'ethers';
import singleStepAdmin from '../fixtures/AuditAnchor.single-step-admin.artifact.json';
import { compileAuditAnchor } from '../../scripts/compile-audit-anchor';
import { auditAnchorSourceHash, loadAuditAnchorArtifact } from '../../src/web3/audit-anchor-artifact';

describe('AuditAnchor artifact (contracts/AuditAnchor.artifact.json)', function () {
  this.timeout(60_000);

  it('was built from the current AuditAnchor.sol (else run: npx tsx scripts/compile-audit-anchor.ts)', () => {
    expect(loadAuditAnchorArtifact().sourceSha256).to.equal(auditAnchorSourceHash());
  });

  it('is what the pinned npm solc 0.8.30 makes of the source today, offline (optimizer 200 runs, cancun): bytecode and ABI, so a deployment can be verified from the source', () => {
    const fresh = compileAuditAnchor();
    const committed = loadAuditAnchorArtifact();
    expect(fresh.solcVersion).to.match(/^0\.8\.30\+/);
    expect(committed.solcVersion).to.equal(fresh.solcVersion);
    expect(committed.evmVersion).to.equal('cancun');
    expect(committed.bytecode, 'bytecode (an imported OpenZeppelin file changed? regenerate)').to.equal(fresh.bytecode);
    expect(committed.abi).to.deep.equal(fresh.abi);
  });

  it('keeps every function, event and error of the contracts deployed by releases before 2026-12-11 (single-step admin): the ABI only grows (names of parameters aside)', () => {
    const before = new Interface(singleStepAdmin.abi as never);
    const now = new Interface(loadAuditAnchorArtifact().abi as never);
    const missing: string[] = [];
    before.forEachFunction((fn) => {
      const same = now.getFunction(fn.selector);
      if (!same || same.format('minimal') !== fn.format('minimal')) missing.push(fn.format('minimal'));
    });
    before.forEachEvent((ev) => {
      if (now.getEvent(ev.topicHash)?.format('minimal') !== ev.format('minimal')) missing.push(ev.format('minimal'));
    });
    before.forEachError((er) => {
      if (now.getError(er.selector)?.format('minimal') !== er.format('minimal')) missing.push(er.format('minimal'));
    });
    expect(missing).to.deep.equal([]);
    // The deployment takes the delay after the two addresses it took before.
    expect(now.deploy.inputs.map((i) => `${i.type} ${i.name}`)).to.deep.equal(['address admin', 'address anchorer', 'uint48 adminDelay']);
  });
});
