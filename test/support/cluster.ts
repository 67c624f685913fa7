import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { freePort } from './free-port';
import { startGatewayProcess, type GatewayProcess } from './gateway-process';
import { startBrokerProcess, type BrokerProcess } from './kafka-broker/process';
import { startKurrentFakeProcess, type KurrentFakeProcess } from './kurrentdb-fake/process';
import { createTestDatabase, REDIS_TEST_URL, redisTestPrefix } from './services';

/** Hardhat accounts #3 and #4: one sealer key and one agent key shared by every candidate / worker. */
const SEALER_KEY = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6';
const AGENT_KEY = '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a';
export const CLUSTER_ADMIN_KEY = 'omc_cluster_admin_key_0123456789abcdef';

export type ClusterProcess = GatewayProcess & { name: string; roles: string };

export type Cluster = {
  /** Environment every process shares (stores, broker, chain, keys). */
  env: Record<string, string>;
  chain: LocalChain;
  broker: BrokerProcess;
  databaseUrl: string;
  /** Set when the event store is the KurrentDB fake (its own process); else the SQL store on MariaDB. */
  kurrentUrl?: string;
  redisPrefix: string;
  headers: Record<string, string>;
  /** `openmcp start` with OPENMCP_ROLES=`roles` as a real child process. */
  spawn(name: string, roles: string, env?: Record<string, string>): Promise<ClusterProcess>;
  processes: ClusterProcess[];
  close(): Promise<void>;
};

/**
 * The production topology on one machine: MariaDB (a fresh database), Redis (a fresh prefix), the
 * Kafka test broker in its own process, a Hardhat node with AuditAnchor, and any number of
 * `openmcp start --roles …` processes sharing them. With `kurrent`, the event store is the
 * KurrentDB fake in its own process (KURRENTDB_URL); MariaDB then holds the read models, keys,
 * checkpoints and leases. Call `close()` in after().
 */
export async function startCluster(extraEnv: Record<string, string> = {}, options: { kurrent?: boolean } = {}): Promise<Cluster> {
  const redis = redisTestPrefix('omc_cluster');
  const chainDir = mkdtempSync(join(tmpdir(), 'omc-cluster-chain-'));
  // Independent of one another: started side by side (each is a process or a database to wait for).
  const [kurrent, db, broker, chain] = await Promise.all([
    options.kurrent ? startKurrentFakeProcess() : Promise.resolve<KurrentFakeProcess | undefined>(undefined),
    createTestDatabase('omc_cluster'),
    startBrokerProcess(),
    freePort().then((port) => startLocalChain({ port, dataDir: chainDir })),
  ]);
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    REDIS_URL: REDIS_TEST_URL,
    REDIS_KEY_PREFIX: redis.prefix,
    KAFKA_BROKERS: broker.brokers.join(','),
    KAFKA_TOPIC_PREFIX: db.name,
    KAFKA_CONSUMER_GROUP: `${db.name}-projector`,
    CHAIN_RPC_URL: chain.rpcUrl,
    ANCHOR_CONTRACT: chain.contractAddress,
    ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey,
    SEALER_PRIVATE_KEY: SEALER_KEY,
    AGENT_PRIVATE_KEY: AGENT_KEY,
    OPENMCP_ADMIN_KEY: CLUSTER_ADMIN_KEY,
    BATCH_MAX_SECONDS: '1',
    ...(kurrent ? { KURRENTDB_URL: kurrent.url } : {}),
    ...extraEnv,
  };
  const processes: ClusterProcess[] = [];
  return {
    env,
    chain,
    broker,
    databaseUrl: db.url,
    kurrentUrl: kurrent?.url,
    redisPrefix: redis.prefix,
    headers: { authorization: `Bearer ${CLUSTER_ADMIN_KEY}`, 'content-type': 'application/json' },
    processes,
    async spawn(name, roles, more = {}) {
      const p = await startGatewayProcess({ ...env, OPENMCP_ROLES: roles, OTEL_SERVICE_NAME: `openmcp-${name}`, ...more });
      const cp = Object.assign(p, { name, roles });
      processes.push(cp);
      return cp;
    },
    async close() {
      await Promise.all(processes.map((p) => p.stop('SIGKILL').catch(() => undefined)));
      for (const p of processes) rmSync(p.dataDir, { recursive: true, force: true });
      await chain.stop().catch(() => undefined);
      await broker.stop().catch(() => undefined);
      await kurrent?.stop().catch(() => undefined);
      await db.drop().catch(() => undefined);
      await redis.drop().catch(() => undefined);
      rmSync(chainDir, { recursive: true, force: true });
    },
  };
}
