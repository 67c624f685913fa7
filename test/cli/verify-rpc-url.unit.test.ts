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

  it("masks a provider's key in the URL it refuses (CHAIN_RPC_URL set to a provider's wss:// URL printed its key in clear)", async () => {
    const key = '0123456789abcdef0123456789abcdef';
    const proof = join(dir, 'proof.json');
    writeFileSync(proof, JSON.stringify({ format: 'openmcp-proof/1' }));
    const lines: string[] = [];
    expect(await runVerify({ file: proof, rpc: `wss://mainnet.infura.io/ws/v3/${key}?apikey=Sekr3t`, out: (l) => lines.push(l) })).to.equal(2);
    expect(lines).to.deep.equal(['FAILED: --rpc (or CHAIN_RPC_URL) wss://mainnet.infura.io/ws/v3/***?apikey=*** is not an http:// or https:// URL (the node\'s HTTP JSON-RPC endpoint)']);
  });
});
