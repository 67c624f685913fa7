/**
 * A runtime in its own process, for the crash test: configured by environment, killed with
 * SIGKILL by the test, or by itself right after appending an event of type OMC_DIE_AFTER.
 * Chain tools only (no gateway tools); daily totals in the event store's SQLite file (SqlSpendLedger).
 */
import { catalog } from '../../../events';
import { openSqlEventStore } from '../../../src/eventstore/sql';
import { AgentRuntime } from '../../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../../src/agent/llm/openai-client';
import { parsePolicy, SqlSpendLedger } from '../../../src/agent/policy';
import { openKnex } from '../../../src/db/knex';
import { MemoryCache } from '../../../src/cache/memory';
import { NonceManager } from '../../../src/web3/nonce-manager';
import { ChainRegistry } from '../../../src/web3/chain-registry';
import { parseChains } from '../../../src/web3/chains-file';
import { loadDemoTokenArtifact } from '../../../src/web3/sample-contracts';
import type { Hex } from '../../../src/core/hex';

async function main(): Promise<void> {
  const env = process.env;
  const chainId = Number(env.OMC_CHAIN_ID);
  const store = await openSqlEventStore(`sqlite:${env.OMC_DB}`, { pollIntervalMs: 50 });
  const dieAfter = env.OMC_DIE_AFTER;
  if (dieAfter) {
    // A crash at an exact point: the event is durable, nothing after it runs.
    const append = store.append.bind(store);
    store.append = async (...a: Parameters<typeof append>) => {
      const r = await append(...a);
      if (a[1].some((e) => e.type === dieAfter)) process.kill(process.pid, 'SIGKILL');
      return r;
    };
  }
  const chains = await ChainRegistry.open(
    parseChains({ chains: [{ chainId, rpcUrl: env.OMC_RPC, wallet: { type: 'key', privateKey: env.OMC_WALLET_KEY }, contracts: [{ name: 'DemoToken', address: env.OMC_TOKEN, abi: loadDemoTokenArtifact().abi }] }] }, process.cwd()),
  );
  const runtime = new AgentRuntime(
    {
      store,
      catalog,
      tools: { callTool: async () => ({ content: [{ type: 'text', text: 'no gateway here' }], isError: true }) },
      llm: new OpenAiLlmClient({ baseURL: env.OMC_LLM!, model: 'fake-model', maxRetries: 0 }),
      cache: new MemoryCache(),
      chains,
      nonces: new NonceManager(),
      ledger: new SqlSpendLedger(await openKnex(`sqlite:${env.OMC_DB}`)),
      policy: parsePolicy({ policies: [{ tenant: '*', tools: { allow: ['chain__*'] }, contracts: [{ chainId, address: env.OMC_TOKEN!, methods: { transfer: { amountArg: 1, maxAmount: '1000', dailyCap: '100000' } } }] }] }),
      privateKey: env.OMC_RUNTIME_KEY as Hex,
    },
    { model: 'fake-model', worker: `child-${process.pid}`, stepTimeoutMs: 20_000, leaseMs: 1_500 },
  );
  await runtime.start();
  process.stdout.write('ready\n');
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
