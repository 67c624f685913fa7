import type { Config } from '../config';
import type { Hex } from '../core/hex';
import type { Roles } from '../app/roles';

export type SealerKeyWarningParameters = {
  config: Pick<Config, 'SEALER_PRIVATE_KEY' | 'KURRENTDB_URL' | 'databaseUrl'>;
  roles: Pick<Roles, 'all' | 'sealer'>;
  /** The address this process signs batch heads with (AuditPipeline.sealerAddress). */
  sealerAddress?: Hex;
};

/**
 * The warning a sealer candidate logs at start when it signs with DATA_DIR/sealer.key outside the
 * embedded single-process default, else undefined. Where the log is shared (MySQL or KurrentDB) or
 * the process runs only some roles, other sealer candidates may exist: each with its own DATA_DIR
 * makes its own sealer.key, so a takeover changes the batches' signer and an auditor pinning it
 * (`openmcp verify --signer`) fails. A warning, not a refusal: a single sealer is fine, and a
 * shared DATA_DIR volume gives every candidate the same file (docs/operations.md).
 * @example sealerKeyWarning({ config: { databaseUrl: 'mysql://db/openmcp' }, roles: { all: true, sealer: true } }) // 'sealer: SEALER_PRIVATE_KEY is not set …'
 */
export function sealerKeyWarning(p: SealerKeyWarningParameters): string | undefined {
  const { config: c, roles } = p;
  if (!roles.sealer || c.SEALER_PRIVATE_KEY) return undefined;
  const shared = c.KURRENTDB_URL ? 'the event log is in KurrentDB' : /^mysql/i.test(c.databaseUrl) ? 'the event log is in MySQL' : !roles.all ? 'this process runs only some roles' : undefined;
  if (!shared) return undefined;
  return (
    `sealer: SEALER_PRIVATE_KEY is not set, so this process signs batch heads with its own DATA_DIR/sealer.key${p.sealerAddress ? ` (signer ${p.sealerAddress})` : ''}, ` +
    `and ${shared}: another sealer candidate with its own DATA_DIR signs with another key after a takeover, and an auditor pinning the signer (openmcp verify --signer) fails; ` +
    'set SEALER_PRIVATE_KEY to the same key on every sealer candidate (docs/operations.md, "Single leaders: relay, sealer and anchorer")'
  );
}
