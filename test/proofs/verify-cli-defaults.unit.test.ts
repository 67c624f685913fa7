import { expect } from 'chai';
import { buildCli } from '../../src/cli/main';

/** `verify` and `verify-batch` read the chain the gateway anchors on unless told otherwise. */
describe('openmcp verify / verify-batch: the default --rpc', () => {
  const saved = { CHAIN_RPC_URL: process.env.CHAIN_RPC_URL, CHAIN_PORT: process.env.CHAIN_PORT };
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  });
  const rpcDefault = (command: string) => buildCli().commands.find((c) => c.name() === command)!.options.find((o) => o.long === '--rpc')!.defaultValue;

  it('--rpc is resolved when the command runs (CHAIN_RPC_URL, else CHAIN_PORT, of the environment or the OPENMCP_CONFIG file: test/cli/verify-defaults.unit.test.ts), never fixed while the CLI is built; the help names where it comes from', () => {
    process.env.CHAIN_PORT = '18545';
    for (const command of ['verify', 'verify-batch']) {
      const rpc = buildCli().commands.find((c) => c.name() === command)!.options.find((o) => o.long === '--rpc')!;
      expect(rpcDefault(command), command).to.equal(undefined);
      expect(rpc.description, command).to.include('CHAIN_RPC_URL').and.include('CHAIN_PORT').and.include('OPENMCP_CONFIG');
    }
  });

  it('--contract comes from ANCHOR_CONTRACT (the address the operator publishes), else the file with a warning', () => {
    const option = (command: string) => buildCli().commands.find((c) => c.name() === command)!.options.find((o) => o.long === '--contract')!;
    expect(option('verify').envVar).to.equal('ANCHOR_CONTRACT');
    expect(option('verify-batch').envVar).to.equal('ANCHOR_CONTRACT');
    for (const command of ['verify', 'verify-batch']) expect(buildCli().commands.find((c) => c.name() === command)!.options.some((o) => o.long === '--signer'), command).to.equal(true);
  });
});
