import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toHex, type Hex } from '../core/hex';

/**
 * SEALER_PRIVATE_KEY if set; otherwise the key in DATA_DIR/sealer.key, created (mode 0600) on
 * first start. The key's address is in every BatchSealed, so keep the file across restarts.
 */
export function loadOrCreateSealerKey(dataDir: string, configured?: string): Hex {
  if (configured) return configured.toLowerCase() as Hex;
  const file = join(dataDir, 'sealer.key');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim() as Hex;
  mkdirSync(dataDir, { recursive: true });
  const key = toHex(randomBytes(32));
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return key;
}
