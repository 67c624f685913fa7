import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runVerify } from '../../src/cli/verify';
import { runVerifyBatch } from '../../src/cli/verify-batch';

/**
 * `--rpc notaurl` (or an empty one) can read no chain: nothing on it is checked, so exit 2 before
 * any check, as for a malformed `--contract` (docs/proofs.md). It exited 1 with the on-chain checks
 * failed, "a check failed", as if the chain had disagreed with the file.
 */
describe('openmcp verify and verify-batch: an --rpc that is no http(s) URL exits 2 before any check', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-verify-rpc-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const rpc of ['notaurl', '', 'ws://127.0.0.1:8545', 'ftp://x']) {
    it(`--rpc ${JSON.stringify(rpc)}`, async () => {
      const proof = join(dir, 'proof.json');
      writeFileSync(proof, JSON.stringify({ format: 'openmcp-proof/1' }));
      const exported = join(dir, 'export.json');
      writeFileSync(exported, JSON.stringify({ batch: { id: 0, anchor: { contract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' } }, events: [] }));
      for (const run of [(out: (l: string) => void) => runVerify({ file: proof, rpc, out }), (out: (l: string) => void) => runVerifyBatch({ batchId: 0, file: exported, rpc, out })]) {
        const lines: string[] = [];
        expect(await run((l) => lines.push(l))).to.equal(2);
        expect(lines).to.have.length(1);
        expect(lines[0]).to.match(rpc === '' ? /^FAILED: --rpc \(or CHAIN_RPC_URL\) is empty: give the URL of a JSON-RPC node/ : /^FAILED: --rpc \(or CHAIN_RPC_URL\) .* is not an http:\/\/ or https:\/\/ URL/);
      }
    });
  }

  // A provider's key rides in its URL (Infura /ws/v3/<key>, a password): the refusal is printed on
  // stdout, which CI logs keep, so the URL is masked as the on-chain checks' lines mask it.
  for (const rpc of ['wss://mainnet.infura.io/ws/v3/9aa3d95b3bc440fa88ea12eaa4456161', 'ws://ops:s3cretpw@127.0.0.1:8545', 'htps://ops:s3cretpw@node.example/v2/Abc123def456ghi789jkl0']) {
    it(`--rpc ${rpc.replace(/\/\/.*/, '//…')} with a credential: refused without printing the credential`, async () => {
      const proof = join(dir, 'proof.json');
      writeFileSync(proof, JSON.stringify({ format: 'openmcp-proof/1' }));
      const lines: string[] = [];
      expect(await runVerify({ file: proof, rpc, out: (l) => lines.push(l) })).to.equal(2);
      expect(lines).to.have.length(1);
      expect(lines[0]).to.match(/is not an http:\/\/ or https:\/\/ URL/);
      for (const secret of ['9aa3d95b3bc440fa88ea12eaa4456161', 's3cretpw', 'Abc123def456ghi789jkl0']) expect(lines[0]).not.to.include(secret);
    });
  }
  it("masks a provider's key in the URL it refuses (CHAIN_RPC_URL set to a provider's wss:// URL printed its key in clear)", async () => {
    const key = '0123456789abcdef0123456789abcdef';
    const proof = join(dir, 'proof.json');
    writeFileSync(proof, JSON.stringify({ format: 'openmcp-proof/1' }));
    const lines: string[] = [];
    expect(await runVerify({ file: proof, rpc: `wss://mainnet.infura.io/ws/v3/${key}?apikey=Sekr3t`, out: (l) => lines.push(l) })).to.equal(2);
    expect(lines).to.deep.equal(['FAILED: --rpc (or CHAIN_RPC_URL) wss://mainnet.infura.io/ws/v3/***?apikey=*** is not an http:// or https:// URL (the node\'s HTTP JSON-RPC endpoint)']);
  });
});
