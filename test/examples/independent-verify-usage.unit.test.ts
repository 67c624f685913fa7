import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const EXAMPLE = join(__dirname, '../../examples/independent-verify.ts');
const TSX = join(__dirname, '../../node_modules/tsx/dist/cli.mjs');

/**
 * docs/proofs.md §7: `curl … > proof.json` saves an error answer in the file's place. The
 * auditors' own verifier (§10) read one as a proof and died on `event.hash` ("Cannot read
 * properties of undefined"); it names it, exit 2, nothing checked, as `openmcp verify` does.
 */
describe('examples/independent-verify.ts: an error answer saved as the proof file', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'independent-verify-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('exits 2 naming the answer, before any check or chain request', () => {
    const file = join(dir, 'proof.json');
    writeFileSync(file, JSON.stringify({ type: 'https://openmcp.dev/errors#proof_pending', status: 409, code: 'PROOF_PENDING', detail: 'event x: its batch is not sealed yet' }));
    const pin = `0x${'11'.repeat(20)}`;
    // Port 9 (discard): no chain is asked.
    const r = spawnSync(process.execPath, [TSX, EXAMPLE, file, '--rpc', 'http://127.0.0.1:9', '--contract', pin, '--signer', pin], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(2);
    expect(r.stdout).to.equal('');
    expect(r.stderr.trim()).to.equal(`error: ${file} is not an openmcp-proof/1 file but an error answer: PROOF_PENDING: event x: its batch is not sealed yet`);
  });
});
