import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../core/errors';
import { loadOrCreateKeyFile } from '../core/key-file';
import { ADMIN_KEY_ADVICE, adminKeyWeakness } from './admin-key-strength';
import { generateApiKey, hashApiKey, keyPrefixOf } from './api-key';
import type { ApiKeyRecord, KeyStore } from './key-store';
import { BOOTSTRAP_KEY_ID } from './key-service';
import { DEFAULT_TENANT } from './tenant';

export type EnsureAdminKeyConfig = { OPENMCP_ADMIN_KEY?: string; dataDir: string };

export const ADMIN_KEY_FILE = 'admin.key';

/** DATA_DIR/admin.key's key, made there first when `create` (and the file is missing); undefined when missing and not `create`. */
function adminKeyFile(dataDir: string, create: boolean): { key: string; created: boolean } | undefined {
  const file = join(dataDir, ADMIN_KEY_FILE);
  if (!create && !existsSync(file)) return undefined;
  return loadOrCreateKeyFile(
    file,
    () => {
      if (!create) throw new ConfigError(`${file} disappeared while being read`, { variable: 'OPENMCP_ADMIN_KEY' });
      return generateApiKey().key;
    },
    (text) => {
      if (text.length < 16) throw new ConfigError(`${file} does not hold a key (delete it to generate a new one)`, { variable: 'OPENMCP_ADMIN_KEY' });
      // A hand-written file is held to the same standard as a chosen OPENMCP_ADMIN_KEY.
      const weak = adminKeyWeakness(text);
      if (weak) throw new ConfigError(`${file} holds a weak key: ${weak} (delete it to generate a new one, or ${ADMIN_KEY_ADVICE})`, { variable: 'OPENMCP_ADMIN_KEY' });
    },
    'OPENMCP_ADMIN_KEY',
  );
}

function bootstrapRecord(key: string): ApiKeyRecord {
  return {
    id: BOOTSTRAP_KEY_ID,
    tenant: DEFAULT_TENANT,
    role: 'admin',
    name: 'bootstrap admin',
    crossTenant: true,
    // A chosen OPENMCP_ADMIN_KEY may be short: show only 4 characters of it.
    prefix: key.startsWith('omk_') ? keyPrefixOf(key) : key.slice(0, 4),
    hash: hashApiKey(key),
    createdAt: new Date().toISOString(),
    createdBy: 'system',
  };
}

/**
 * Make sure the bootstrap admin key works: OPENMCP_ADMIN_KEY when set, else the key in
 * DATA_DIR/admin.key, else a new key written there with mode 0600. Its hash is stored (replacing
 * a previous bootstrap key, so changing the variable rotates it) as a cross-tenant admin of
 * tenant `default`. `generated` is true only when a new key was made: print it once then.
 * When OPENMCP_ADMIN_KEY replaces a different key held in DATA_DIR/admin.key, that file is
 * removed (`removedStaleFile`, for a warning): left there, a later start without the variable
 * would read the old key from it and put it back, and the client commands would fall back to it.
 * For the gateway itself (`openmcp start`); a process that only uses its store calls
 * storeAdminKeyIfAbsent instead.
 * @example const { key, generated } = await ensureAdminKey(config, keyStore); if (generated) console.log(key);
 */
export async function ensureAdminKey(
  config: EnsureAdminKeyConfig,
  keys: KeyStore,
): Promise<{ key: string; generated: boolean; removedStaleFile?: string }> {
  let key = config.OPENMCP_ADMIN_KEY;
  let generated = false;
  if (!key) ({ key, created: generated } = adminKeyFile(config.dataDir, true)!);
  const record = bootstrapRecord(key);
  const existing = await keys.get(BOOTSTRAP_KEY_ID);
  if (existing?.hash !== record.hash) await keys.put(record);
  const stale = config.OPENMCP_ADMIN_KEY ? staleKeyFile(config.dataDir, key) : undefined;
  if (stale) rmSync(stale, { force: true });
  return stale ? { key, generated, removedStaleFile: stale } : { key, generated };
}

/** DATA_DIR/admin.key when it holds a key other than `key` (unreadable: left alone). */
function staleKeyFile(dataDir: string, key: string): string | undefined {
  const file = join(dataDir, ADMIN_KEY_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return readFileSync(file, 'utf8').trim() === key ? undefined : file;
  } catch {
    return undefined;
  }
}

/**
 * For a process that uses the gateway's key store without being the gateway (`openmcp mcp stdio`,
 * started by an MCP host with the host's environment): store the bootstrap admin key only when
 * none is stored yet (a fresh DATA_DIR), from OPENMCP_ADMIN_KEY or an existing DATA_DIR/admin.key.
 * It never replaces a stored one — ensureAdminKey's rotation would lock the running gateway's
 * admin out, silently, until its next start — and never creates a key file. Returns whether it stored one.
 * @example await storeAdminKeyIfAbsent(config, keyStore);
 */
export async function storeAdminKeyIfAbsent(config: EnsureAdminKeyConfig, keys: KeyStore): Promise<boolean> {
  if (await keys.get(BOOTSTRAP_KEY_ID)) return false;
  const key = config.OPENMCP_ADMIN_KEY || adminKeyFile(config.dataDir, false)?.key;
  if (!key) return false;
  try {
    await keys.insert(bootstrapRecord(key));
    return true;
  } catch (err) {
    // The gateway (or another stdio process) stored one meanwhile: theirs stands.
    if (await keys.get(BOOTSTRAP_KEY_ID)) return false;
    throw err;
  }
}
