import { expect } from 'chai';
import { MemoryCache } from '../../src/cache/memory';
import { ReplicaPresence, replicaActorId } from '../../src/mcp/replica-presence';
import { FlakyCache } from '../support/flaky-cache';

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

  it('names replicas uniquely, within the 200 characters of an actor id', () => {
    const [x, y] = [replicaActorId(), replicaActorId()];
    expect(x).to.match(/^mcp-gateway:.+:\d+:[0-9a-f]{6}$/).and.not.equal(y);
    expect(x.length).to.be.at.most(200);
  });
});
