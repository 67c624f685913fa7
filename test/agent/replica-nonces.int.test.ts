/**
 * Two agent runtimes (replicas) signing with one wallet against one Hardhat node, sharing Redis as
 * production does. Each has its own NonceManager; tasks of different tenants do not share a spend
 * lock, so only the nonce lock keeps their sends apart. A proxy in front of the node holds each
 * broadcast back a little, as a busy node or network does: before, both replicas read the same
 * pending count and signed the same nonce (the second was lost or replaced the first).
 */
import { expect } from 'chai';
import { catalog } from '../../events';
import type { RecordedEvent } from '../../src/core/envelope';
import type { Cache } from '../../src/cache/port';
import { openRedisCache } from '../../src/cache/redis';
import type { EventStore } from '../../src/eventstore/port';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { parsePolicy } from '../../src/agent/policy';
import { ChainRegistry } from '../../src/web3/chain-registry';
import { parseChains } from '../../src/web3/chains-file';
import { NonceManager } from '../../src/web3/nonce-manager';
import { startCountingProxy, type CountingRpcProxy } from '../support/counting-rpc-proxy';
import { REDIS_TEST_URL, redisAvailable, redisTestPrefix, requireService } from '../support/services';
import { AGENT_WALLET, AGENT_WALLET_KEY, MemoryCheckpointStore, ended, ofType, openStore, startChainFixture, submitTask, waitForTask, type ChainFixture } from './support/agent-fixture';

const RUNTIME_KEY = '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba' as const;
const addr = (n: number) => `0x${n.toString(16).padStart(40, '0')}`;

describe('agent replicas sending from one wallet (Hardhat, Redis)', function () {
  this.timeout(120_000);
  let fx: ChainFixture;
  let proxy: CountingRpcProxy;
  let store: EventStore;
  let prefix: { prefix: string; drop(): Promise<void> };
  const caches: Cache[] = [];
  const registries: ChainRegistry[] = [];
  const runtimes: AgentRuntime[] = [];

  before(async function () {
    await requireService(this, 'Redis', redisAvailable);
    fx = await startChainFixture();
    proxy = await startCountingProxy(fx.chain.rpcUrl, { delayMs: { eth_sendRawTransaction: 300 } });
    store = await openStore(fx.dir);
    prefix = redisTestPrefix('omc_nonces');
  });

  after(async () => {
    for (const r of runtimes) await r.stop().catch(() => {});
    for (const r of registries) r.close();
    for (const c of caches) await c.close().catch(() => {});
    await prefix?.drop();
    await store?.close();
    await proxy?.close();
    await fx?.close();
  });

  /**
   * One replica: its own Redis connection and chain registry (provider, wallet). `nonces` as
   * createAgentRuntime passes it (a NonceManager over the cache), or left to the runtime's default.
   */
  async function replica(worker: string, nonces: 'explicit' | 'default'): Promise<AgentRuntime> {
    const cache = await openRedisCache(REDIS_TEST_URL, prefix.prefix);
    caches.push(cache);
    const chains = await ChainRegistry.open(
      parseChains({ chains: [{ chainId: fx.chain.chainId, rpcUrl: proxy.url, wallet: { type: 'key', privateKey: AGENT_WALLET_KEY }, contracts: [{ name: 'DemoToken', address: fx.token, abi: fx.tokenAbi }] }] }, fx.dir),
    );
    registries.push(chains);
    const policy = parsePolicy({ policies: [{ tenant: '*', contracts: [{ chainId: fx.chain.chainId, address: fx.token, name: 'DemoToken', methods: { transfer: {} } }] }] });
    const deps = { store, catalog, tools: { callTool: async () => ({ content: [] }) }, cache, chains, policy, privateKey: RUNTIME_KEY, ...(nonces === 'explicit' ? { nonces: new NonceManager(cache) } : {}) };
    const r = new AgentRuntime(deps, { worker, concurrency: 2, stepTimeoutMs: 5_000, leaseMs: 5_000 }, new MemoryCheckpointStore());
    runtimes.push(r);
    return r;
  }

  it('pick distinct nonces for transactions sent at once: every transfer is mined, none replaced or lost', async () => {
    const n = 4;
    const first = await fx.nonceOf(AGENT_WALLET);
    // One tenant per task: no spend lock in common.
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      ids.push(await submitTask(store, `tenant-${i}`, { steps: [{ tool: 'chain__send_transaction', arguments: { chainId: fx.chain.chainId, contract: 'DemoToken', method: 'transfer', args: [addr(0xe0 + i), '1'] } }] }));
    }
    const replicas = [await replica('replica-a', 'explicit'), await replica('replica-b', 'default')];
    await Promise.all(replicas.map((r) => r.start()));
    const runs: RecordedEvent[][] = await Promise.all(ids.map((id) => waitForTask(store, id, ended, 60_000)));

    const workers = new Set(runs.map((es) => (ofType(es, 'TaskStarted')[0]?.data as { worker?: string } | undefined)?.worker));
    expect([...workers].sort(), 'both replicas sent').to.deep.equal(['replica-a', 'replica-b']);
    const failures = runs.map((es) => (ofType(es, 'TaskFailed')[0]?.data as { error: { code: string; message: string } } | undefined)?.error).filter(Boolean);
    expect(failures, JSON.stringify(failures)).to.deep.equal([]);
    const nonces = runs.map((es) => (ofType(es, 'TransactionSubmitted')[0].data as { nonce: number }).nonce).sort((a, b) => a - b);
    expect(nonces).to.deep.equal(Array.from({ length: n }, (_, i) => first + i));
    for (let i = 0; i < n; i++) expect(await fx.balanceOf(addr(0xe0 + i)), `transfer ${i}`).to.equal(1n);
  });
});
