import { expect } from 'chai';
import type { Contract } from 'ethers';
import vectors from '../vectors/merkle.json';
import { hardhat } from './hardhat-env';
import { loadAuditAnchorArtifact } from '../../src/web3/audit-anchor-artifact';

const hre = hardhat();
const { ethers } = hre as unknown as {
  ethers: typeof import('ethers') & {
    getSigners(): Promise<import('ethers').Signer[]>;
    provider: { send(method: string, params: unknown[]): Promise<unknown>; getBlock(n: number): Promise<import('ethers').Block | null> };
  };
};

const ROOT_A = `0x${'aa'.repeat(32)}`;
const ROOT_B = `0x${'bb'.repeat(32)}`;
/** The admin handover delay the fixture deploys with (seconds). */
const DELAY = 3600;

async function deployFixture() {
  const [admin, anchorer, stranger] = await ethers.getSigners();
  const { abi, bytecode } = loadAuditAnchorArtifact();
  const factory = new ethers.ContractFactory(abi as never, bytecode, admin);
  const contract = (await factory.deploy(await admin.getAddress(), await anchorer.getAddress(), DELAY)) as unknown as Contract;
  await contract.waitForDeployment();
  const deployReceipt = await contract.deploymentTransaction()!.wait();
  return { contract, admin, anchorer, stranger, deployGas: deployReceipt!.gasUsed };
}

describe('AuditAnchor.sol (Hardhat network)', function () {
  this.timeout(60_000);
  let f: Awaited<ReturnType<typeof deployFixture>>;
  let asAnchorer: Contract;

  beforeEach(async () => {
    f = await deployFixture();
    asAnchorer = f.contract.connect(f.anchorer) as Contract;
  });

  describe('access control', () => {
    it('only the anchorer role may anchor', async () => {
      const role = await f.contract.ANCHORER_ROLE();
      await expect((f.contract.connect(f.stranger) as Contract).anchor(0, 0, 9, ROOT_A))
        .to.be.revertedWithCustomError(f.contract, 'AccessControlUnauthorizedAccount')
        .withArgs(await f.stranger.getAddress(), role);
      await expect((f.contract.connect(f.admin) as Contract).anchor(0, 0, 9, ROOT_A)).to.be.revertedWithCustomError(
        f.contract,
        'AccessControlUnauthorizedAccount',
      );
      await expect(asAnchorer.anchor(0, 0, 9, ROOT_A)).to.emit(f.contract, 'BatchAnchored').withArgs(0, 0, 9, ROOT_A);
    });

    it('the admin can grant and revoke the anchorer role', async () => {
      const role = await f.contract.ANCHORER_ROLE();
      await (f.contract.connect(f.admin) as Contract).grantRole(role, await f.stranger.getAddress());
      await (f.contract.connect(f.stranger) as Contract).anchor(0, 0, 0, ROOT_A);
      await (f.contract.connect(f.admin) as Contract).revokeRole(role, await f.anchorer.getAddress());
      await expect(asAnchorer.anchor(1, 1, 1, ROOT_B)).to.be.revertedWithCustomError(f.contract, 'AccessControlUnauthorizedAccount');
    });
  });

  describe('admin handover (two steps, with a delay: AccessControlDefaultAdminRules)', () => {
    const ADMIN = ethers.ZeroHash; // DEFAULT_ADMIN_ROLE
    async function later(seconds: number): Promise<void> {
      await ethers.provider.send('evm_increaseTime', [seconds]);
      await ethers.provider.send('evm_mine', []);
    }
    const asAdmin = () => f.contract.connect(f.admin) as Contract;

    it('the deployment names its admin and the delay', async () => {
      expect(await f.contract.defaultAdmin()).to.equal(await f.admin.getAddress());
      expect(await f.contract.owner()).to.equal(await f.admin.getAddress());
      expect(await f.contract.defaultAdminDelay()).to.equal(BigInt(DELAY));
      expect(await f.contract.pendingDefaultAdmin()).to.deep.equal([ethers.ZeroAddress, 0n]);
      expect(await f.contract.hasRole(ADMIN, await f.admin.getAddress())).to.equal(true);
    });

    it('begin, then accept by the new admin once the delay is over: the role moves, the old admin loses it, the new one manages anchorers', async () => {
      const [, , , next] = await ethers.getSigners();
      const nextAddress = await next.getAddress();
      const tx = await asAdmin().beginDefaultAdminTransfer(nextAddress);
      const at = BigInt((await ethers.provider.getBlock((await tx.wait())!.blockNumber))!.timestamp);
      await expect(tx).to.emit(f.contract, 'DefaultAdminTransferScheduled').withArgs(nextAddress, at + BigInt(DELAY));
      expect(await f.contract.pendingDefaultAdmin()).to.deep.equal([nextAddress, at + BigInt(DELAY)]);
      // Until accepted, the old admin still is the admin.
      expect(await f.contract.defaultAdmin()).to.equal(await f.admin.getAddress());

      await later(DELAY);
      await expect((f.contract.connect(next) as Contract).acceptDefaultAdminTransfer())
        .to.emit(f.contract, 'RoleGranted')
        .withArgs(ADMIN, nextAddress, nextAddress);
      expect(await f.contract.defaultAdmin()).to.equal(nextAddress);
      expect(await f.contract.hasRole(ADMIN, await f.admin.getAddress())).to.equal(false);
      expect(await f.contract.pendingDefaultAdmin()).to.deep.equal([ethers.ZeroAddress, 0n]);

      const role = await f.contract.ANCHORER_ROLE();
      await expect(asAdmin().grantRole(role, await f.stranger.getAddress()))
        .to.be.revertedWithCustomError(f.contract, 'AccessControlUnauthorizedAccount')
        .withArgs(await f.admin.getAddress(), ADMIN);
      await (f.contract.connect(next) as Contract).revokeRole(role, await f.anchorer.getAddress());
      await expect(asAnchorer.anchor(0, 0, 9, ROOT_A)).to.be.revertedWithCustomError(f.contract, 'AccessControlUnauthorizedAccount');
      await (f.contract.connect(next) as Contract).grantRole(role, await f.stranger.getAddress());
      await (f.contract.connect(f.stranger) as Contract).anchor(0, 0, 9, ROOT_A);
    });

    it('the delay is enforced: an accept before it is over reverts with AccessControlEnforcedDefaultAdminDelay(schedule)', async () => {
      const [, , , next] = await ethers.getSigners();
      await (await asAdmin().beginDefaultAdminTransfer(await next.getAddress())).wait();
      const [, schedule] = await f.contract.pendingDefaultAdmin();
      await expect((f.contract.connect(next) as Contract).acceptDefaultAdminTransfer())
        .to.be.revertedWithCustomError(f.contract, 'AccessControlEnforcedDefaultAdminDelay')
        .withArgs(schedule);
      await later(DELAY - 60);
      await expect((f.contract.connect(next) as Contract).acceptDefaultAdminTransfer()).to.be.revertedWithCustomError(f.contract, 'AccessControlEnforcedDefaultAdminDelay');
      expect(await f.contract.defaultAdmin()).to.equal(await f.admin.getAddress());
      await later(120);
      await (f.contract.connect(next) as Contract).acceptDefaultAdminTransfer();
      expect(await f.contract.defaultAdmin()).to.equal(await next.getAddress());
    });

    it('a mistyped new admin never gets the role without accepting (nobody else can accept), and the admin cancels', async () => {
      const typo = '0x000000000000000000000000000000000000dEaD';
      await (await asAdmin().beginDefaultAdminTransfer(typo)).wait();
      await later(DELAY * 2);
      expect(await f.contract.hasRole(ADMIN, typo)).to.equal(false);
      expect(await f.contract.defaultAdmin()).to.equal(await f.admin.getAddress());
      for (const who of [f.stranger, f.admin, f.anchorer]) {
        await expect((f.contract.connect(who) as Contract).acceptDefaultAdminTransfer())
          .to.be.revertedWithCustomError(f.contract, 'AccessControlInvalidDefaultAdmin')
          .withArgs(await who.getAddress());
      }
      await expect((f.contract.connect(f.stranger) as Contract).cancelDefaultAdminTransfer()).to.be.revertedWithCustomError(
        f.contract,
        'AccessControlUnauthorizedAccount',
      );
      await expect(asAdmin().cancelDefaultAdminTransfer()).to.emit(f.contract, 'DefaultAdminTransferCanceled');
      expect(await f.contract.pendingDefaultAdmin()).to.deep.equal([ethers.ZeroAddress, 0n]);
      // The admin still manages anchorers.
      await asAdmin().grantRole(await f.contract.ANCHORER_ROLE(), await f.stranger.getAddress());
      expect(await f.contract.hasRole(await f.contract.ANCHORER_ROLE(), await f.stranger.getAddress())).to.equal(true);
    });

    it('the admin role cannot move in one step: grantRole, revokeRole and an unscheduled renounceRole of it revert', async () => {
      const stranger = await f.stranger.getAddress();
      const admin = await f.admin.getAddress();
      await expect(asAdmin().grantRole(ADMIN, stranger)).to.be.revertedWithCustomError(f.contract, 'AccessControlEnforcedDefaultAdminRules');
      await expect(asAdmin().revokeRole(ADMIN, admin)).to.be.revertedWithCustomError(f.contract, 'AccessControlEnforcedDefaultAdminRules');
      await expect(asAdmin().renounceRole(ADMIN, admin)).to.be.revertedWithCustomError(f.contract, 'AccessControlEnforcedDefaultAdminDelay').withArgs(0);
      expect(await f.contract.defaultAdmin()).to.equal(admin);
    });

    it('a deployment without an admin is refused (AccessControlInvalidDefaultAdmin(0))', async () => {
      const { abi, bytecode } = loadAuditAnchorArtifact();
      const factory = new ethers.ContractFactory(abi as never, bytecode, f.admin);
      await expect(factory.deploy(ethers.ZeroAddress, await f.anchorer.getAddress(), DELAY))
        .to.be.revertedWithCustomError(f.contract, 'AccessControlInvalidDefaultAdmin')
        .withArgs(ethers.ZeroAddress);
    });
  });

  describe('contiguity', () => {
    it('a replayed batch id reverts with AuditAnchorBatchOutOfOrder(expected, got)', async () => {
      await asAnchorer.anchor(0, 0, 9, ROOT_A);
      await expect(asAnchorer.anchor(0, 10, 19, ROOT_B)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorBatchOutOfOrder').withArgs(1, 0);
    });

    it('a skipped batch id reverts', async () => {
      await expect(asAnchorer.anchor(1, 0, 9, ROOT_A)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorBatchOutOfOrder').withArgs(0, 1);
    });

    it('a seq gap or overlap reverts with AuditAnchorNonContiguous(expected, got)', async () => {
      await expect(asAnchorer.anchor(0, 1, 9, ROOT_A)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorNonContiguous').withArgs(0, 1);
      await asAnchorer.anchor(0, 0, 9, ROOT_A);
      await expect(asAnchorer.anchor(1, 11, 19, ROOT_B)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorNonContiguous').withArgs(10, 11);
      await expect(asAnchorer.anchor(1, 9, 19, ROOT_B)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorNonContiguous').withArgs(10, 9);
      await asAnchorer.anchor(1, 10, 10, ROOT_B);
      expect(await f.contract.nextBatchId()).to.equal(2n);
      expect(await f.contract.nextSeq()).to.equal(11n);
    });

    it('a range ending at the last uint64 is refused: nextSeq would wrap to 0 and let seq 0 be anchored twice', async () => {
      const max = 2n ** 64n - 1n;
      await asAnchorer.anchor(0, 0, 9, ROOT_A);
      await expect(asAnchorer.anchor(1, 10, max, ROOT_B)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorSeqOverflow').withArgs(max);
      await asAnchorer.anchor(1, 10, max - 1n, ROOT_B);
      expect(await f.contract.nextSeq()).to.equal(max);
      await expect(asAnchorer.anchor(2, 0, 5, ROOT_A)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorNonContiguous').withArgs(max, 0);
    });

    it('an empty range and a zero root are refused', async () => {
      await asAnchorer.anchor(0, 0, 9, ROOT_A);
      await expect(asAnchorer.anchor(1, 10, 9, ROOT_B)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorEmptyRange').withArgs(10, 9);
      await expect(asAnchorer.anchor(1, 10, 12, ethers.ZeroHash)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorZeroRoot');
    });
  });

  describe('immutability', () => {
    it('a stored root never changes, and unknown batches are refused', async () => {
      await asAnchorer.anchor(0, 0, 9, ROOT_A);
      const [root, firstSeq, lastSeq, anchoredAt] = await f.contract.batch(0);
      expect([root, firstSeq, lastSeq]).to.deep.equal([ROOT_A, 0n, 9n]);
      expect(anchoredAt > 0n).to.equal(true);
      await expect(asAnchorer.anchor(0, 0, 9, ROOT_B)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorBatchOutOfOrder');
      expect((await f.contract.batch(0))[0]).to.equal(ROOT_A);
      await expect(f.contract.batch(1)).to.be.revertedWithCustomError(f.contract, 'AuditAnchorUnknownBatch').withArgs(1);
    });
  });

  describe('verifyInclusion with the shared vectors (SHA-256 precompile)', () => {
    it('is true for every vector proof and false when anything is tampered with', async () => {
      for (const t of vectors.trees) {
        // A fresh contract per tree (vector trees overlap in seq); batch 0 fills seqs below firstSeq.
        const g = await deployFixture();
        const c = g.contract.connect(g.anchorer) as Contract;
        await c.anchor(0, 0, t.firstSeq - 1, ROOT_A);
        await c.anchor(1, t.firstSeq, t.firstSeq + t.treeSize - 1, t.root);
        for (const p of t.proofs) {
          const leaf = t.leafHashes[p.index];
          expect(await c.verifyInclusion(1, p.index, leaf, p.path), `tree ${t.treeSize} index ${p.index}`).to.equal(true);
          const flipped = (h: string) => `0x${(parseInt(h[2], 16) ^ 1).toString(16)}${h.slice(3)}`;
          expect(await c.verifyInclusion(1, p.index, flipped(leaf), p.path)).to.equal(false);
          if (p.path.length > 0) {
            const path = [...p.path];
            path[path.length - 1] = flipped(path[path.length - 1]);
            expect(await c.verifyInclusion(1, p.index, leaf, path)).to.equal(false);
            expect(await c.verifyInclusion(1, p.index, leaf, p.path.slice(1))).to.equal(false);
          }
          expect(await c.verifyInclusion(1, p.index, leaf, [...p.path, ROOT_A])).to.equal(false);
          expect(await c.verifyInclusion(0, p.index, leaf, p.path)).to.equal(false);
          expect(await c.verifyInclusion(2, p.index, leaf, p.path)).to.equal(false);
        }
        expect(await c.verifyInclusion(1, t.treeSize, t.leafHashes[0], [])).to.equal(false);
      }
    });
  });

  describe('gas', () => {
    it('deploy and anchor() cost what docs/proofs.md says (anchor under 80,000)', async () => {
      const used: bigint[] = [];
      for (let i = 0; i < 5; i++) {
        const tx = await asAnchorer.anchor(i, i * 1000, i * 1000 + 999, ethers.hexlify(ethers.randomBytes(32)));
        used.push((await tx.wait())!.gasUsed);
      }
      console.log(`      gas: deploy ${f.deployGas}, anchor() first ${used[0]}, later ${used.slice(1).join(', ')}`);
      for (const g of used) expect(Number(g)).to.be.below(80_000);
    });
  });
});
