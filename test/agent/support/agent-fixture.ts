import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, ContractFactory, Wallet, computeAddress } from 'ethers';
import { catalog } from '../../../events';
import type { RecordedEvent } from '../../../src/core/envelope';
import type { Hex } from '../../../src/core/hex';
import { newId } from '../../../src/core/ids';
import { MemoryCache } from '../../../src/cache/memory';
import { MemoryCheckpointStore } from '../../../src/checkpoints/memory-checkpoint-store';
import { handleCommand } from '../../../src/domain/handle-command';
import { taskDecider, taskStream } from '../../../src/domain/task/task.decider';
import { openSqlEventStore } from '../../../src/eventstore/sql';
import type { EventStore } from '../../../src/eventstore/port';
import { startLocalChain, type LocalChain } from '../../../src/web3/local-chain';
import { createRpcProvider } from '../../../src/web3/provider';
import { compileSample } from '../../../scripts/compile-sample';
import { deployDemoToken, loadDemoTokenArtifact } from '../../../src/web3/sample-contracts';
import { parseChains } from '../../../src/web3/chains-file';
import { ChainRegistry } from '../../../src/web3/chain-registry';
import { startOpenAiFake, type OpenAiFake } from '../../support/openai-fake/openai-fake';

/** Hardhat's well-known account #1 (mnemonic "test … junk"): the agent's wallet in tests. Account #0 is the anchorer. */
export const AGENT_WALLET_KEY: Hex = '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d';
export const AGENT_WALLET = computeAddress(AGENT_WALLET_KEY).toLowerCase();
/** Account #2: a second sender (remote signer, keystore tests). */
export const OTHER_KEY: Hex = '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a';

export type ChainFixture = {
  dir: string;
  chain: LocalChain;
  token: string;
  tokenAbi: unknown[];
  /** The chain with DemoToken and `contracts` registered, the agent wallet signing. */
  registry(contracts?: { name: string; address: string; abi: unknown[] }[]): Promise<ChainRegistry>;
  /** Compile `contractName` of the Solidity file `sourcePath` and deploy it from the agent wallet. */
  deploy(sourcePath: string, contractName: string, ...args: unknown[]): Promise<{ address: string; abi: unknown[] }>;
  balanceOf(addr: string): Promise<bigint>;
  nonceOf(addr: string): Promise<number>;
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  close(): Promise<void>;
};

/** One Hardhat node for a test file, with DemoToken deployed by the agent wallet (1,000,000 units). */
export async function startChainFixture(): Promise<ChainFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'omc-agent-'));
  const chain = await startLocalChain({ port: 0, dataDir: dir });
  const provider = createRpcProvider(chain.rpcUrl);
  const { address: token } = await deployDemoToken(new Wallet(AGENT_WALLET_KEY, provider), 1_000_000n);
  const tokenAbi = loadDemoTokenArtifact().abi;
  const reader = new Contract(token, tokenAbi as never, provider);
  return {
    dir,
    chain,
    token,
    tokenAbi,
    registry: async (contracts = []) =>
      ChainRegistry.open(
        parseChains(
          { chains: [{ chainId: chain.chainId, rpcUrl: chain.rpcUrl, wallet: { type: 'key', privateKey: AGENT_WALLET_KEY }, contracts: [{ name: 'DemoToken', address: token, abi: tokenAbi }, ...contracts] }] },
          dir,
        ),
      ),
    deploy: async (sourcePath, contractName, ...args) => {
      const artifact = compileSample(sourcePath, contractName);
      const c = await new ContractFactory(artifact.abi as never, artifact.bytecode, new Wallet(AGENT_WALLET_KEY, provider)).deploy(...args);
      await c.waitForDeployment();
      return { address: (await c.getAddress()).toLowerCase(), abi: artifact.abi as unknown[] };
    },
    balanceOf: async (a) => (await reader.balanceOf(a)) as bigint,
    nonceOf: (a) => provider.getTransactionCount(a, 'latest'),
    rpc: (m, p = []) => provider.send(m, p),
    close: async () => {
      provider.destroy();
      await chain.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function openStore(dir: string): Promise<EventStore> {
  return openSqlEventStore(`sqlite:${join(dir, `events-${newId()}.db`)}`);
}

export const user = { kind: 'user' as const, id: 'alice' };

export async function submitTask(
  store: EventStore,
  tenant: string,
  data: { instruction?: string; steps?: { tool: string; arguments: Record<string, unknown> }[]; agentId?: string; chainId?: number; answerRecipient?: string },
): Promise<string> {
  const id = newId();
  await handleCommand({ store, catalog }, { decider: taskDecider, stream: taskStream(id), command: { type: 'SubmitTask', ...data }, metadata: { tenant, actor: user, correlationId: id } });
  return id;
}

/** Poll the task's stream until `until(events)` holds (or fail naming what was seen). */
export async function waitForTask(store: EventStore, taskId: string, until: (events: RecordedEvent[]) => boolean, ms = 20_000): Promise<RecordedEvent[]> {
  const end = Date.now() + ms;
  for (;;) {
    const events = await store.readStream(taskStream(taskId));
    if (until(events)) return events;
    if (Date.now() > end) throw new Error(`task ${taskId}: condition not met in ${ms} ms; events: ${events.map((e) => e.type).join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export const ended = (events: RecordedEvent[]) => events.some((e) => ['TaskCompleted', 'TaskFailed', 'TaskCancelled'].includes(e.type));
export const ofType = (events: RecordedEvent[], type: string) => events.filter((e) => e.type === type);

export function knowledgeDir(root: string): string {
  const dir = join(root, 'knowledge');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'treasury.md'), '# Treasury\n\n## Transfer rules\n\nDEMO token transfers above 100 units need a human approval. Never transfer more than 1000 DEMO at once.\n\n## Unrelated\n\nThe cafeteria opens at nine.\n');
  return dir;
}

export { MemoryCache, MemoryCheckpointStore };

/**
 * A suite's SQLite event store, in a temporary directory, and an openai-fake server (answering
 * with `reply` until a test scripts it): opened before the suite's tests, handed to `set`, closed
 * after them. `release` runs after each test (stop the test's runtime).
 * @example useStoreAndFake('omc-run-', (s) => ({ store, fake } = s), async () => void (await runtime?.stop()))
 */
export function useStoreAndFake(
  dirPrefix: string,
  set: (s: { dir: string; store: EventStore; fake: OpenAiFake }) => void,
  release: () => Promise<void>,
  reply?: Parameters<typeof startOpenAiFake>[0],
): void {
  let s: { dir: string; store?: EventStore; fake?: OpenAiFake } | undefined;
  before(async () => {
    s = { dir: mkdtempSync(join(tmpdir(), dirPrefix)) };
    s.store = await openStore(s.dir);
    s.fake = await startOpenAiFake(reply);
    set(s as { dir: string; store: EventStore; fake: OpenAiFake });
  });
  afterEach(release);
  after(async () => {
    await s?.fake?.close();
    await s?.store?.close();
    if (s) rmSync(s.dir, { recursive: true, force: true });
  });
}
