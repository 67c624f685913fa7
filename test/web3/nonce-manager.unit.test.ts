import { expect } from 'chai';
import { MemoryCache } from '../../src/cache/memory';
import { createRpcProvider } from '../../src/web3/provider';
import { NonceManager } from '../../src/web3/nonce-manager';

const FROM = '0x' + 'ab'.repeat(20);

describe('NonceManager: the sender lock another replica holds', () => {
  it('waits for it, then fails NONCE_LOCK_BUSY with nothing signed, and without asking the node', async () => {
    const cache = new MemoryCache();
    // Held by another process on the same cache: the lock comes before any RPC, so the URL is never dialled.
    expect(await cache.acquireLock(`web3:nonce-lock:31337:${FROM}`, 'replica-b', 10_000)).to.equal(true);
    const provider = createRpcProvider('http://127.0.0.1:9');
    let signed = false;
    try {
      const err = await new NonceManager(cache, { waitMs: 100 })
        .withNonce(provider, 31337, FROM.toUpperCase().replace('0X', '0x'), async () => void (signed = true))
        .then(() => undefined, (e: { code?: string; message?: string }) => e);
      expect(err?.code).to.equal('NONCE_LOCK_BUSY');
      expect(err?.message).to.include(FROM).and.include('chain 31337').and.include('nothing was signed');
      expect(signed).to.equal(false);
    } finally {
      provider.destroy();
    }
  });
});
