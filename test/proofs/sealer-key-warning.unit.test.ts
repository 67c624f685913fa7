import { expect } from 'chai';
import { parseRoles } from '../../src/app/roles';
import { sealerKeyWarning } from '../../src/proofs/sealer-key-warning';

/**
 * Two sealer candidates with separate DATA_DIRs and no SEALER_PRIVATE_KEY each made their own
 * sealer.key, so batches changed signer at a takeover without a word. Outside the embedded
 * single-process default a sealer without SEALER_PRIVATE_KEY now warns at start, naming it.
 */
describe('sealerKeyWarning: a sealer candidate signing with its own sealer.key where others may exist', () => {
  const sqlite = 'sqlite:/data/openmcp.db';
  const signer = '0x1111111111111111111111111111111111111111' as const;

  it('warns with the log in MySQL or KurrentDB, or with only some roles, naming SEALER_PRIVATE_KEY and the signer', () => {
    for (const [config, roles, why] of [
      [{ databaseUrl: 'mysql://db/openmcp' }, 'all', 'the event log is in MySQL'],
      [{ databaseUrl: sqlite, KURRENTDB_URL: 'kurrentdb://k:2113' }, 'all', 'the event log is in KurrentDB'],
      [{ databaseUrl: sqlite }, 'sealer,anchorer', 'this process runs only some roles'],
    ] as const) {
      const line = sealerKeyWarning({ config, roles: parseRoles(roles), sealerAddress: signer });
      expect(line).to.equal(
        `sealer: SEALER_PRIVATE_KEY is not set, so this process signs batch heads with its own DATA_DIR/sealer.key (signer ${signer}), and ${why}: another sealer candidate with its own DATA_DIR signs with another key after a takeover, and an auditor pinning the signer (openmcp verify --signer) fails; set SEALER_PRIVATE_KEY to the same key on every sealer candidate (docs/operations.md, "Single leaders: relay, sealer and anchorer")`,
      );
    }
  });

  it('stays quiet in the embedded default, with SEALER_PRIVATE_KEY set, and where no sealer runs', () => {
    expect(sealerKeyWarning({ config: { databaseUrl: sqlite }, roles: parseRoles('all') })).to.equal(undefined);
    expect(sealerKeyWarning({ config: { databaseUrl: 'mysql://db/x', SEALER_PRIVATE_KEY: `0x${'11'.repeat(32)}` }, roles: parseRoles('sealer') })).to.equal(undefined);
    expect(sealerKeyWarning({ config: { databaseUrl: 'mysql://db/x' }, roles: parseRoles('api,projector') })).to.equal(undefined);
  });
});
