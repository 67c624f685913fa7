import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBatchesExport } from '../../src/cli/batches-export';
import { runEventsProof } from '../../src/cli/events-proof';
import type { OpenMcpClient } from '../../src/sdk/client';

/**
 * README and docs/proofs.md §7: an auditor pins the operator's AuditAnchor (`--contract`) and
 * sealer (`--signer`). The lines `events proof --out` and `batches export --out` end with named
 * `--contract` only, so a run as suggested left the signature check "not pinned".
 */
describe('openmcp events proof / batches export --out: the verify command suggested pins the sealer too', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'omc-hint-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  // Two placeholders both called ADDR told neither which is which nor where an auditor gets them: each is named,
  // and where the operator's published addresses come from (`openmcp start` prints its AuditAnchor and Sealer lines).
  const PINS = '--contract ANCHOR --signer SEALER (ANCHOR, SEALER: the AuditAnchor and sealer addresses the operator publishes, printed by openmcp start)';
  const pinsRe = PINS.replace(/[()]/g, '\\$&');

  const proof = { batch: { id: 1 }, anchor: { chainId: 31337, blockNumber: 3 } };
  const client = {
    events: { proofFile: async () => ({ text: JSON.stringify(proof), proof }) },
    batches: { exportFile: async () => ({ text: '{"events":[]}', export: { events: [] } }) },
  } as unknown as OpenMcpClient;

  // The verify suggested asks for the event fetched (--event): a gateway that answered with another event's proof fails it.
  it('events proof', async () => {
    const lines: string[] = [];
    const file = join(dir, 'proof.json');
    const id = '01900000-0000-7000-8000-000000000000';
    expect(await runEventsProof(client, id, { out: file }, (l) => lines.push(l))).to.equal(0);
    expect(lines.join('\n')).to.match(new RegExp(`check it with: openmcp verify ${file} --rpc URL --event ${id} ${pinsRe}$`));
  });

  it('batches export', async () => {
    const lines: string[] = [];
    const file = join(dir, 'batch.json');
    expect(await runBatchesExport(client, 1, { out: file }, (l) => lines.push(l))).to.equal(0);
    expect(lines.join('\n')).to.match(new RegExp(`check it with: openmcp verify-batch 1 --file ${file} --rpc URL ${pinsRe}$`));
  });
});
