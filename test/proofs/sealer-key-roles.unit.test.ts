import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '../../src/eventstore/port';
import { startAuditPipeline } from '../../src/proofs/pipeline';

/**
 * DATA_DIR/sealer.key belongs to the processes that seal. Every other role (an api, relay,
 * projector, agent, anchorer process of infra/'s stack) made a private key of its own there, which
 * nothing ever used: a stray secret in each container's volume, and one more file for operators
 * to tell from the real one when backing keys up.
 */
describe('sealer key by role', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'openmcp-sealer-key-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const config = () => ({ dataDir: dir, CHAIN_RPC_URL: 'http://127.0.0.1:1', CHAIN_PORT: 8545, ANCHOR_CONTRACT: `0x${'11'.repeat(20)}`, CHAIN_CONFIRMATIONS: 1, BATCH_MAX_EVENTS: 10, BATCH_MAX_SECONDS: 1 });

  it('a process without the sealer role makes no DATA_DIR/sealer.key and names no sealer (was: a random key file in every process)', async () => {
    const p = await startAuditPipeline({ store: {} as EventStore, config: config(), findEvent: async () => undefined, roles: { sealer: false, anchorer: false } });
    try {
      expect(existsSync(join(dir, 'sealer.key'))).to.equal(false);
      expect(p.sealerAddress).to.equal(undefined);
    } finally {
      await p.stop();
    }
  });
});
