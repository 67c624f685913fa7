import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { toHex, type Hex } from '../core/hex';
import { assertHexKey, loadOrCreateKeyFile } from '../core/key-file';

/**
 * SEALER_PRIVATE_KEY if set; otherwise the key in DATA_DIR/sealer.key, created (mode 0600) on
 * first start. The key's address is in every BatchSealed, so keep the file across restarts.
 */
export function loadOrCreateSealerKey(dataDir: string, configured?: string): Hex {
  if (configured) return configured.toLowerCase() as Hex;
  const file = join(dataDir, 'sealer.key');
  return loadOrCreateKeyFile(file, () => toHex(randomBytes(32)), (text) => assertHexKey(text, file, 'SEALER_PRIVATE_KEY'), 'SEALER_PRIVATE_KEY').key.toLowerCase() as Hex;
}
