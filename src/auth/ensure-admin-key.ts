import { join } from 'node:path';
import { ConfigError } from '../core/errors';
import { loadOrCreateKeyFile } from '../core/key-file';
import { ADMIN_KEY_ADVICE, adminKeyWeakness } from './admin-key-strength';
import { generateApiKey, hashApiKey, keyPrefixOf } from './api-key';
import type { KeyStore } from './key-store';
import { BOOTSTRAP_KEY_ID } from './key-service';
import { DEFAULT_TENANT } from './tenant';

export type EnsureAdminKeyConfig = { OPENMCP_ADMIN_KEY?: string; dataDir: string };

export const ADMIN_KEY_FILE = 'admin.key';

/**
 * Make sure the bootstrap admin key works: OPENMCP_ADMIN_KEY when set, else the key in
 * DATA_DIR/admin.key, else a new key written there with mode 0600. Its hash is stored (replacing
 * a previous bootstrap key, so changing the variable rotates it) as a cross-tenant admin of
 * tenant `default`. `generated` is true only when a new key was made: print it once then.
 * @example const { key, generated } = await ensureAdminKey(config, keyStore); if (generated) console.log(key);
 */
export async function ensureAdminKey(config: EnsureAdminKeyConfig, keys: KeyStore): Promise<{ key: string; generated: boolean }> {
  let key = config.OPENMCP_ADMIN_KEY;
  let generated = false;
  if (!key) {
    const file = join(config.dataDir, ADMIN_KEY_FILE);
    ({ key, created: generated } = loadOrCreateKeyFile(
      file,
      () => generateApiKey().key,
      (text) => {
        if (text.length < 16) throw new ConfigError(`${file} does not hold a key (delete it to generate a new one)`, { variable: 'OPENMCP_ADMIN_KEY' });
        // A hand-written file is held to the same standard as a chosen OPENMCP_ADMIN_KEY.
        const weak = adminKeyWeakness(text);
        if (weak) throw new ConfigError(`${file} holds a weak key: ${weak} (delete it to generate a new one, or ${ADMIN_KEY_ADVICE})`, { variable: 'OPENMCP_ADMIN_KEY' });
      },
      'OPENMCP_ADMIN_KEY',
    ));
  }
  const hash = hashApiKey(key);
  const existing = await keys.get(BOOTSTRAP_KEY_ID);
  if (existing?.hash !== hash) {
    await keys.put({
      id: BOOTSTRAP_KEY_ID,
      tenant: DEFAULT_TENANT,
      role: 'admin',
      name: 'bootstrap admin',
      crossTenant: true,
      // A chosen OPENMCP_ADMIN_KEY may be short: show only 4 characters of it.
      prefix: key.startsWith('omk_') ? keyPrefixOf(key) : key.slice(0, 4),
      hash,
      createdAt: new Date().toISOString(),
      createdBy: 'system',
    });
  }
  return { key, generated };
}
