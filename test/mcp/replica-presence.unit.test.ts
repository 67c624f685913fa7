import { expect } from 'chai';
import { MemoryCache } from '../../src/cache/memory';
import { ReplicaPresence, replicaActorId } from '../../src/mcp/replica-presence';
import { FlakyCache } from '../support/flaky-cache';
import { until } from './support/until';

describe('ReplicaPresence', () => {
  let now = 0;
  const clock = () => new Date(now);
  beforeEach(() => {
    now = Date.parse('2026-12-06T12:00:00.000Z');
  });

  it('vouches for a replica until its TTL has passed since its last renewal, by the clock', async () => {
    const cache = new MemoryCache();
    const a = new ReplicaPresence(cache, 'mcp-gateway:a', 30_000, clock);
    const b = new ReplicaPresence(cache, 'mcp-gateway:b', 30_000, clock);
    expect(await b.isAlive('mcp-gateway:a'), 'before it started').to.equal(false);
    await a.start();
    a.stop(); // dies: the entry stays, to expire
    now += 30_000 - 1;
    expect(await b.isAlive('mcp-gateway:a')).to.equal(true);
    now += 1;
    expect(await b.isAlive('mcp-gateway:a')).to.equal(false);
  });

  it('is gone at once when it leaves', async () => {
    const cache = new MemoryCache();
    const a = new ReplicaPresence(cache, 'mcp-gateway:a', 30_000, clock);
    await a.start();
    await a.leave();
    expect(await new ReplicaPresence(cache, 'mcp-gateway:b', 30_000, clock).isAlive('mcp-gateway:a')).to.equal(false);
  });

  it('takes a replica for alive when the cache cannot say: a record is never set right on a guess', async () => {
    const cache = new FlakyCache(new MemoryCache());
    cache.fail('get', /^mcp-replica:/);
    expect(await new ReplicaPresence(cache, 'mcp-gateway:b', 30_000, clock).isAlive('mcp-gateway:a')).to.equal(true);
  });

  it('takes every replica for alive for a TTL once the cache may have lost their entries (a Redis restart, a failover), and renews its own at once', async () => {
    /** The in-memory cache, but losing every entry when told to, as Redis restarted empty: each process is told as its connection is back. */
    class LosingCache extends MemoryCache {
      readonly listeners = new Set<() => void>();
      onWritesMaybeLost(listener: () => void): () => void {
        this.listeners.add(listener);
        return () => this.listeners.delete(listener);
      }
    }
    const cache = new LosingCache();
    const a = new ReplicaPresence(cache, 'mcp-gateway:a', 30_000, clock);
    const b = new ReplicaPresence(cache, 'mcp-gateway:b', 30_000, clock);
    await a.start();
    await b.start();
    await cache.del('mcp-replica:mcp-gateway:a', 'mcp-replica:mcp-gateway:b');
    expect(cache.listeners.size, 'each listens for lost writes').to.equal(2);
    const [toldA, toldB] = [...cache.listeners];
    toldB(); // B's connection is back first; A's entry is gone and A has not renewed it yet
    expect(await b.isAlive('mcp-gateway:a'), "A's entry lost, A alive").to.equal(true);
    toldA();
    await until('A vouches for itself again', async () => (await cache.get('mcp-replica:mcp-gateway:a')) !== undefined);
    a.stop(); // A dies now: it is gone once its entry has expired
    now += 30_000;
    expect(await b.isAlive('mcp-gateway:a')).to.equal(false);
    b.stop();
    expect(cache.listeners.size, 'stopped, neither listens').to.equal(0);
  });

  it('names replicas uniquely, within the 200 characters of an actor id', () => {
    const [x, y] = [replicaActorId(), replicaActorId()];
    expect(x).to.match(/^mcp-gateway:.+:\d+:[0-9a-f]{6}$/).and.not.equal(y);
    expect(x.length).to.be.at.most(200);
  });
});
