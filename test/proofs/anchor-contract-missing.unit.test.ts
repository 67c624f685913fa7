import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStore } from '../../src/eventstore/port';
import { fatalErrorText } from '../../src/cli/fatal-error-text';
import { startAuditPipeline } from '../../src/proofs/pipeline';

/**
 * A chain named without its AuditAnchor (infra/docker-compose.yml's first `up`, before
 * contracts-deploy: ANCHOR_CONTRACT is `${ANCHOR_CONTRACT:-}`) is a setting to fix: it stops every
 * role's start with CONFIG_INVALID naming ANCHOR_CONTRACT, on one line, not as a bug's stack trace.
 */
describe('CHAIN_RPC_URL without ANCHOR_CONTRACT', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'openmcp-no-contract-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const roles of [{ sealer: false, anchorer: false }, { sealer: true, anchorer: true }]) {
    it(`stops the start with CONFIG_INVALID naming ANCHOR_CONTRACT and how to get it (roles ${JSON.stringify(roles)}; was: a plain Error printed with its stack)`, async () => {
      const config = { dataDir: dir, CHAIN_RPC_URL: 'http://chain:8545', CHAIN_PORT: 8545, CHAIN_CONFIRMATIONS: 1, BATCH_MAX_EVENTS: 10, BATCH_MAX_SECONDS: 1 };
      const err = await startAuditPipeline({ store: {} as EventStore, config, findEvent: async () => undefined, roles }).then(
        () => expect.fail('started'),
        (e: { code?: string; message: string; details?: Record<string, unknown> }) => e,
      );
      expect(err.code).to.equal('CONFIG_INVALID');
      expect(err.details?.variable).to.equal('ANCHOR_CONTRACT');
      expect(err.message).to.include('ANCHOR_CONTRACT').and.include('openmcp contracts deploy --rpc');
      const printed = fatalErrorText(err);
      expect(printed.split('\n'), printed).to.have.length(1);
      expect(printed).to.match(/^openmcp: CONFIG_INVALID: /);
    });
  }
});
