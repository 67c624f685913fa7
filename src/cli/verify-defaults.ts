import { configFileSettings } from '../config';

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
  const rpc = setting('CHAIN_RPC_URL') ?? `http://127.0.0.1:${setting('CHAIN_PORT') ?? 8545}`;
  const contract = setting('ANCHOR_CONTRACT');
  return contract ? { rpc, contract } : { rpc };
}
