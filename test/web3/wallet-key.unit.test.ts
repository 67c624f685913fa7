import { expect } from 'chai';
import type { Provider } from 'ethers';
import { parseChains } from '../../src/web3/chains-file';
import { openWallet } from '../../src/web3/wallets/open-wallet';

// A zero key, or one at or above the curve order, is 64 hex digits too but signs nothing: ethers
// fails only at the first signature, with a stack trace from the curve library.
const ZERO = `0x${'00'.repeat(32)}`;
const ORDER = '0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141';
const GOOD = `0x${'11'.repeat(32)}`;
const noProvider = null as unknown as Provider;

describe('CHAINS_FILE wallet keys: refused where they are read, named, never echoed', () => {
  it("a wallet's inline privateKey that is no secp256k1 key is refused naming its field", () => {
    for (const privateKey of [ZERO, ORDER]) {
      expect(() => parseChains({ chains: [{ chainId: 1, rpcUrl: 'http://127.0.0.1:1', wallet: { type: 'key', privateKey } }] }, '.'))
        .to.throw(/chains\.0\.wallet\.privateKey/)
        .with.property('message')
        .that.does.not.include(privateKey.slice(2));
    }
  });

  it('a key from privateKeyEnv that is no secp256k1 key: CONFIG_INVALID naming the variable, not the key', async () => {
    const err = await openWallet({ type: 'key', privateKeyEnv: 'TEST_WALLET_KEY' }, noProvider, { TEST_WALLET_KEY: ZERO }).catch((e: unknown) => e as Error & { code?: string });
    expect(err).to.be.instanceOf(Error);
    expect((err as { code?: string }).code).to.equal('CONFIG_INVALID');
    expect((err as Error).message).to.include('TEST_WALLET_KEY').and.not.include('00'.repeat(32));
  });

  it('a good key from the variable opens, with or without its 0x (as ethers takes it)', async () => {
    const a = await openWallet({ type: 'key', privateKeyEnv: 'K' }, noProvider, { K: GOOD });
    const b = await openWallet({ type: 'key', privateKeyEnv: 'K' }, noProvider, { K: GOOD.slice(2) });
    expect(await a.getAddress()).to.equal(await b.getAddress());
  });
});
