import type { HardhatRuntimeEnvironment } from 'hardhat/types';

/**
 * The Hardhat runtime on the in-process Hardhat network, loaded once per mocha run.
 * Loading hardhat.config.ts also installs hardhat-ethers and hardhat-chai-matchers into chai.
 */
export function hardhat(): HardhatRuntimeEnvironment {
  process.env.HARDHAT_NETWORK ??= 'hardhat';
  // Hardhat writes telemetry/compiler caches under the home directory otherwise.
  const tmp = require('node:os').tmpdir();
  for (const v of ['XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME']) process.env[v] ??= `${tmp}/openmcp-hardhat`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('hardhat') as HardhatRuntimeEnvironment;
}
