import { expect } from 'chai';
import { auditAnchorSourceHash, loadAuditAnchorArtifact } from '../../src/web3/compile-audit-anchor';

describe('AuditAnchor artifact (contracts/AuditAnchor.artifact.json)', function () {
  this.timeout(60_000);

  it('was built from the current AuditAnchor.sol (else run: npx tsx src/web3/compile-audit-anchor.ts)', () => {
    expect(loadAuditAnchorArtifact().sourceSha256).to.equal(auditAnchorSourceHash());
  });

});
