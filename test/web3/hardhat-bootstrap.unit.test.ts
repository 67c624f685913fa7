import { existsSync } from 'node:fs';
import { expect } from 'chai';
import { ConfigError } from '../../src/core/errors';
import { hardhatBootstrap } from '../../src/web3/local-chain';

describe('hardhatBootstrap: the embedded chain needs Hardhat, a development dependency', () => {
  it("finds Hardhat's command-line entry in a development install", () => {
    const entry = hardhatBootstrap();
    expect(entry).to.match(/hardhat[\\/]internal[\\/]cli[\\/]bootstrap\.js$/);
    expect(existsSync(entry), entry).to.equal(true);
  });

  it('without Hardhat (npm ci --omit=dev) refuses CONFIG_INVALID naming CHAIN_RPC_URL, and says what to do', () => {
    const absent = () => {
      throw Object.assign(new Error("Cannot find module 'hardhat/package.json'"), { code: 'MODULE_NOT_FOUND' });
    };
    let err: unknown;
    try {
      hardhatBootstrap(absent);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ConfigError);
    expect((err as ConfigError).code).to.equal('CONFIG_INVALID');
    expect((err as ConfigError).details).to.deep.include({ variable: 'CHAIN_RPC_URL' });
    expect((err as Error).message).to.include('CHAIN_RPC_URL').and.include('ANCHOR_CONTRACT').and.include('npm ci --omit=dev').and.include('development dependency');
  });

  it('passes on another failure to resolve it as it is', () => {
    const broken = () => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    };
    expect(() => hardhatBootstrap(broken)).to.throw('EACCES');
  });
});
