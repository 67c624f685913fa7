import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { assertHexKey, loadOrCreateKeyFile } from '../../core/key-file';
import type { Hex } from '../../core/hex';

/**
 * The runtime's signing key (TaskCompleted signatures): AGENT_PRIVATE_KEY when set, else
 * `<dataDir>/agent.key`, created on first start (mode 0600) so the signer stays the same across restarts.
 */
export function loadOrCreateRuntimeKey(dataDir: string, configured?: string): Hex {
  if (configured) return configured.toLowerCase() as Hex;
  const file = join(dataDir, 'agent.key');
  return loadOrCreateKeyFile(file, () => `0x${randomBytes(32).toString('hex')}`, (text) => assertHexKey(text, file, 'AGENT_PRIVATE_KEY'), 'AGENT_PRIVATE_KEY').key.toLowerCase() as Hex;
}
