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

  it('CHAIN_RPC_URL when set, else the local chain on CHAIN_PORT (was 127.0.0.1:8545 always)', () => {
    delete process.env.CHAIN_RPC_URL;
    process.env.CHAIN_PORT = '18545';
    expect(rpcDefault('verify')).to.equal('http://127.0.0.1:18545');
    expect(rpcDefault('verify-batch')).to.equal('http://127.0.0.1:18545');
    process.env.CHAIN_RPC_URL = 'https://rpc.example/eth';
    expect(rpcDefault('verify')).to.equal('https://rpc.example/eth');
    delete process.env.CHAIN_RPC_URL;
    delete process.env.CHAIN_PORT;
    expect(rpcDefault('verify-batch')).to.equal('http://127.0.0.1:8545');
  });

  it('--contract comes from ANCHOR_CONTRACT (the address the operator publishes), else the file with a warning', () => {
    const option = (command: string) => buildCli().commands.find((c) => c.name() === command)!.options.find((o) => o.long === '--contract')!;
    expect(option('verify').envVar).to.equal('ANCHOR_CONTRACT');
    expect(option('verify-batch').envVar).to.equal('ANCHOR_CONTRACT');
    for (const command of ['verify', 'verify-batch']) expect(buildCli().commands.find((c) => c.name() === command)!.options.some((o) => o.long === '--signer'), command).to.equal(true);
  });
});
