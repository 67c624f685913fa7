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

describe('NonceManager: the next-nonce counter beside a node that lags', () => {
  // A node behind a load balancer still shows 5 pending after the send with nonce 5.
  const lagging = { getTransactionCount: async () => 5 } as unknown as Parameters<NonceManager['withNonce']>[0];

  it('a send that fails before its nonce is used leaves the counter an earlier send wrote: the next send does not reuse that nonce', async () => {
    const cache = new MemoryCache();
    const [a, b, c] = [new NonceManager(cache), new NonceManager(cache), new NonceManager(cache)];
    const sent = await a.withNonce(lagging, 1, FROM, async (n, lock) => (await lock.used(), n));
    await b.withNonce(lagging, 1, FROM, async () => {
      throw new Error('signer timed out');
    }).catch(() => undefined);
    expect(await c.withNonce(lagging, 1, FROM, async (n) => n)).to.equal(sent + 1);
  });

  it('a send that fails after its nonce was used (refused by the node) drops its own counter: its nonce is handed out again', async () => {
    const cache = new MemoryCache();
    const m = new NonceManager(cache);
    const tried = await m.withNonce(lagging, 1, FROM, async (n, lock) => {
      await lock.used();
      throw Object.assign(new Error('refused'), { tried: n });
    }).catch((e: { tried: number }) => e.tried);
    expect(await m.withNonce(lagging, 1, FROM, async (n) => n)).to.equal(tried);
  });
});
