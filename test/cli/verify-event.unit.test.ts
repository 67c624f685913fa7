import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import eventHashVectors from '../vectors/event-hash.json';
import { runVerify } from '../../src/cli/verify';
import { verifyProofFile } from '../../src/proofs/verify-proof';
import { openmcpInProcess } from '../support/openmcp-in-process';

// Nothing here reaches a chain: the on-chain checks fail on every run; what is checked is the first line.
const NO_CHAIN = 'http://127.0.0.1:1';

/** A proof file well-formed for its format check (the later checks are not what these tests read). */
function proofOf(caseIndex: number): Record<string, unknown> {
  const c = eventHashVectors.cases[caseIndex];
  return {
    format: 'openmcp-proof/1',
    event: { ...c.event, revision: 0, position: 40, hash: c.hash },
    seq: 40,
    batch: { id: 3, firstSeq: 40, lastSeq: 40, root: `0x${'11'.repeat(32)}`, prevRoot: `0x${'22'.repeat(32)}`, signer: `0x${'33'.repeat(20)}`, signature: `0x${'44'.repeat(65)}` },
    index: 0,
    treeSize: 1,
    path: [],
    anchor: { chainId: 31337, contract: `0x${'ab'.repeat(20)}`, txHash: `0x${'cd'.repeat(32)}`, blockNumber: 9 },
  };
}

/**
 * A proof of another event passes every check too: an auditor asked to prove event X had to read
 * the id off the first line, and a script checking exit 0 could not ask at all. `--event <id>`
 * makes the file's event one of the checks (exit 1 naming it, as any failed check).
 */
describe('openmcp verify --event <id>: the proof must be of that event', function () {
  this.timeout(60_000);
  let dir: string;
  let file: string;
  const proof = proofOf(0);
  const proven = (proof.event as { id: string }).id;
  const other = eventHashVectors.cases.map((c) => c.event.id).find((id) => id !== proven)!;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-verify-event-'));
    file = join(dir, 'proof.json');
    writeFileSync(file, JSON.stringify(proof));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a proof of another event fails "proof format", naming both events; the other checks still run', async () => {
    const results = await verifyProofFile(proof, { rpcUrl: NO_CHAIN, event: other });
    expect(results[0].name).to.equal('proof format');
    expect(results[0].ok).to.equal(false);
    expect(results[0].detail).to.contain(`event ${proven}`).and.contain(`not event ${other}, the one asked for`);
    expect(results[1]).to.include({ name: 'event hash', ok: true });
  });

  it('the event asked for: the format check passes as without --event (in any letter case)', async () => {
    const without = await verifyProofFile(proof, { rpcUrl: NO_CHAIN });
    expect((await verifyProofFile(proof, { rpcUrl: NO_CHAIN, event: proven.toUpperCase() }))[0]).to.deep.equal(without[0]);
  });

  it('the CLI: exit 1 with FAILED: proof format, the exit a failed check has', async () => {
    const out: string[] = [];
    expect(await runVerify({ file, rpc: NO_CHAIN, event: other, out: (l) => out.push(l) })).to.equal(1);
    expect(out[0]).to.match(/^✘ proof format: .* not event /);
    expect(out.at(-1)).to.equal(`FAILED: proof format (${file})`);
  });

  it('an --event that is no event id: exit 2 before any check, naming it', async () => {
    const out: string[] = [];
    expect(await runVerify({ file, rpc: NO_CHAIN, event: 'task-1', out: (l) => out.push(l) })).to.equal(2);
    expect(out).to.deep.equal(['FAILED: --event task-1 is not an event id (a UUID, as GET /v1/events/:id takes)']);
  });

  it('openmcp verify takes --event from the command line', async () => {
    const r = await openmcpInProcess(['verify', file, '--rpc', NO_CHAIN, '--event', other], { ANCHOR_CONTRACT: undefined });
    expect(r.status, r.stderr + r.stdout).to.equal(1);
    expect(r.stdout).to.match(/✘ proof format: .* not event /);
  });
});
