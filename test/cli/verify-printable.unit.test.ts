import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runVerify } from '../../src/cli/verify';
import { runVerifyBatch } from '../../src/cli/verify-batch';
import eventHashVectors from '../vectors/event-hash.json';

// Nothing here reaches a chain: each file fails its format check first.
const NO_CHAIN = 'http://127.0.0.1:1';
// Not escaped by JSON.stringify: a right-to-left override (shows what follows reversed) and C1's CSI (ESC [ on terminals that take 8-bit controls).
const RLO = '\u202e';
const CSI = '\u009b';

/**
 * The proof file comes from the operator the auditor does not trust: what the verifier quotes from
 * it must reach the terminal as the escapes it holds, never as controls that reorder or rewrite the
 * lines the auditor reads (was: both printed raw, in the format and in an unexpected field's name).
 */
describe('openmcp verify and verify-batch quote the file without its control characters', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-verify-printable-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const verify = async (name: string, content: unknown) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(content));
    const out: string[] = [];
    const code = await runVerify({ file, rpc: NO_CHAIN, out: (l) => out.push(l) });
    return { code, out };
  };

  it('a format or a field name holding them: printed as \\u escapes', async () => {
    const format = await verify('format.json', { format: `openmcp-proof/1${RLO}${CSI}2J` });
    expect(format.code).to.equal(1);
    expect(format.out[0]).to.equal('✘ proof format: format is "openmcp-proof/1\\u202e\\u009b2J", expected openmcp-proof/1');
    const field = await verify('field.json', { format: 'openmcp-proof/1', [`x${RLO}y`]: 1 });
    expect(field.out[0]).to.equal('✘ proof format: unexpected field "x\\u202ey": the proof covers none beside those of openmcp-proof/1');
    for (const line of [...format.out, ...field.out]) expect(line).to.not.match(/[\u202e\u009b]/);
  });

  it('verify-batch: the same for what it quotes of an export', async () => {
    const c = eventHashVectors.cases[0];
    const file = join(dir, 'export.json');
    writeFileSync(file, JSON.stringify({ batch: { id: 0, anchor: { contract: '0x5fbdb2315678afecb367f032d93f642f64180aa3' } }, events: [{ ...c.event, revision: 0, position: 0, hash: c.hash, [`x${RLO}`]: 1 }] }));
    const out: string[] = [];
    await runVerifyBatch({ batchId: 0, file, rpc: NO_CHAIN, out: (l) => out.push(l) });
    expect(out.join('\n')).to.not.match(/[\u202e\u009b]/);
    expect(out[0]).to.equal(`✘ event hashes: 1 event(s) are not a recorded event envelope, first ${c.event.id}: unexpected field "x\\u202e"`);
  });
});
