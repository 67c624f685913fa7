import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ConfigError } from '../../core/errors';
import type { Hex } from '../../core/hex';

/**
 * The runtime's signing key (TaskCompleted signatures): AGENT_PRIVATE_KEY when set, else
 * `<dataDir>/agent.key`, created on first start (mode 0600) so the signer stays the same across restarts.
 */
export function loadOrCreateRuntimeKey(dataDir: string, configured?: string): Hex {
  if (configured) return configured.toLowerCase() as Hex;
  const path = join(dataDir, 'agent.key');
  if (existsSync(path)) {
    const k = readFileSync(path, 'utf8').trim();
    if (!/^0x[0-9a-f]{64}$/i.test(k)) throw new ConfigError(`${path} does not hold a 0x-prefixed 32-byte hex key`, { variable: 'AGENT_PRIVATE_KEY' });
    return k.toLowerCase() as Hex;
  }
  mkdirSync(dirname(path), { recursive: true });
  const key = `0x${randomBytes(32).toString('hex')}` as Hex;
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return key;
}
