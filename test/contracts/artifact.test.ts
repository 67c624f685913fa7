import { expect } from 'chai';
import { auditAnchorSourceHash, compileAuditAnchor, loadAuditAnchorArtifact } from '../../src/web3/compile-audit-anchor';

describe('AuditAnchor artifact (contracts/AuditAnchor.artifact.json)', function () {
  this.timeout(60_000);

  it('was built from the current AuditAnchor.sol (else run: npx tsx src/web3/compile-audit-anchor.ts)', () => {
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

});
