import { ConfigSchema, configFileSettings } from '../config';
import { ConfigError } from '../core/errors';

export type VerifyDefaults = {
  /** `--rpc` when it is not given: CHAIN_RPC_URL, else the local chain on CHAIN_PORT (8545). */
  rpc: string;
  /** `--contract` when it is not given: ANCHOR_CONTRACT, if set. */
  contract?: string;
};

/**
 * The chain `openmcp verify` and `verify-batch` read when `--rpc` / `--contract` are not given:
 * the environment, else the OPENMCP_CONFIG file, as `openmcp start` reads them — so an operator
 * who verifies beside their gateway reaches its chain. Only these settings are read: an auditor's
 * machine needs no valid configuration of the rest.
 * @example verifyDefaults({ CHAIN_PORT: '18545' }).rpc === 'http://127.0.0.1:18545'
 */
export function verifyDefaults(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): VerifyDefaults {
  const file = configFileSettings(env, cwd);
  const setting = (name: string): string | undefined => env[name] || file[name] || undefined;
  const rpc = setting('CHAIN_RPC_URL') ?? `http://127.0.0.1:${chainPort(setting('CHAIN_PORT'))}`;
  const contract = setting('ANCHOR_CONTRACT');
  return contract ? { rpc, contract } : { rpc };
}

/**
 * CHAIN_PORT checked as `start` checks it (ConfigSchema): unchecked, `abc` made the URL
 * http://127.0.0.1:abc, refused as an --rpc (or CHAIN_RPC_URL) that is no http(s) URL, neither set.
 */
function chainPort(value: string | undefined): number {
  if (value === undefined) return 8545;
  const parsed = ConfigSchema.shape.CHAIN_PORT.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new ConfigError(`Invalid configuration: CHAIN_PORT=${JSON.stringify(value)}: expected ${parsed.error.issues[0].message}`, { variable: 'CHAIN_PORT' });
}
