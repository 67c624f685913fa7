import { subtask } from 'hardhat/config';
import { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } from 'hardhat/builtin-tasks/task-names';
import type { HardhatUserConfig } from 'hardhat/types';
import '@nomicfoundation/hardhat-ethers';
import '@nomicfoundation/hardhat-chai-matchers';

const SOLC_VERSION = '0.8.30';

// Compile offline with the npm solc package instead of downloading a compiler (HH502 offline).
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args: { solcVersion: string }, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) return runSuper();
  const compilerPath = require.resolve('solc/soljson.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const longVersion: string = require('solc/wrapper')(require(compilerPath)).version();
  return { compilerPath, isSolcJs: true, version: args.solcVersion, longVersion };
});

const config: HardhatUserConfig = {
  solidity: {
    version: SOLC_VERSION,
    settings: { optimizer: { enabled: true, runs: 200 }, evmVersion: 'cancun' },
  },
  paths: { sources: './contracts', tests: './test/contracts', cache: './cache', artifacts: './artifacts' },
  networks: {
    hardhat: { hardfork: 'cancun', chainId: 31337 },
    localhost: { url: 'http://127.0.0.1:8545' },
  },
};

export default config;
