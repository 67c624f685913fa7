import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { computeAddress } from 'ethers';
import type { Cache } from '../cache/port';
import { MemoryCache } from '../cache/memory';
import type { CheckpointStore } from '../checkpoints/port';
import type { Config } from '../config';
import { loadOptional } from '../core/load-optional';
import type { EventCatalog } from '../../events/catalog';
import type { EventStore } from '../eventstore/port';
import { ChainRegistry } from '../web3/chain-registry';
import { loadChainsFile } from '../web3/chains-file';
import { NonceManager } from '../web3/nonce-manager';
import { KnowledgeBase } from './knowledge/knowledge-base';
import { TokenBudget } from './llm/token-budget';
import { assertPolicyFitsChains } from './policy/check-policy-abis';
import { loadPolicyFile } from './policy/load-policy';
import { policyHashes } from './policy/policy-hash';
import { CacheSpendLedger, type SpendLedger } from './policy/spend-ledger';
import { AgentRuntime } from './runtime/agent-runtime';
import type { AgentRuntimeDependencies } from './runtime/runtime-deps';
import { loadOrCreateRuntimeKey } from './runtime/runtime-key';
import type { ToolCaller } from './runtime/tool-caller';

export type CreateAgentRuntimeParameters = {
  config: Config;
  store: EventStore;
  catalog: EventCatalog;
  /** The MCP gateway. */
  tools: ToolCaller;
  /** Redis in production (LLM response cache, spend and token ledgers shared by workers). */
  cache?: Cache;
  /** Where daily spend and token totals are kept. Default: in `cache`; main.ts passes SqlSpendLedger (durable). */
  ledger?: SpendLedger;
  checkpoints?: CheckpointStore;
  logger?: AgentRuntimeDependencies['logger'];
  /** With tracing on: task runs continue the submitting request's trace. */
  traceContexts?: AgentRuntimeDependencies['traceContexts'];
  /** Subjects' data keys (MCP_PAYLOAD_POLICY=encrypted): tasks' sealed inputs are opened with them. */
  subjectKeys?: AgentRuntimeDependencies['subjectKeys'];
  /** Where wallet secrets named in CHAINS_FILE are read (default process.env). */
  env?: NodeJS.ProcessEnv;
};

/** The `openai` SDK is loaded only when OPENAI_BASE_URL configures an LLM. */
const openAiClientModule = () => loadOptional('OPENAI_BASE_URL', () => require('./llm/openai-client') as typeof import('./llm/openai-client'));

/**
 * Build the runtime from configuration: LLM (OPENAI_BASE_URL, else none), knowledge base
 * (KNOWLEDGE_DIR), chains and wallets (CHAINS_FILE), policy (POLICY_FILE), budgets, signing
 * key (AGENT_PRIVATE_KEY or DATA_DIR/agent.key). Call `start()` on the result; `stop()` at shutdown
 * (then `chains?.close()`).
 */
export async function createAgentRuntime(p: CreateAgentRuntimeParameters): Promise<{ runtime: AgentRuntime; chains?: ChainRegistry; knowledge?: KnowledgeBase; signer: string }> {
  const c = p.config;
  const abs = (x: string) => (isAbsolute(x) ? x : resolve(x));
  const cache = p.cache ?? new MemoryCache();
  const ledger = p.ledger ?? new CacheSpendLedger(cache);
  const policy = loadPolicyFile(c.POLICY_FILE ? abs(c.POLICY_FILE) : undefined);
  // What PolicyEvaluated.policyHash will name: an auditor matches a decision to the file it was made under.
  p.logger?.info?.({ policyFile: c.POLICY_FILE ?? null, policies: policyHashes(policy) }, 'policy in force');
  const specs = loadChainsFile(c.CHAINS_FILE ? abs(c.CHAINS_FILE) : undefined);
  const chains = specs.length ? await ChainRegistry.open(specs, p.env ?? process.env) : undefined;
  // A rule the ABIs make unsafe (a bare name of an overloaded method) stops the start, not a payment.
  try {
    if (chains) assertPolicyFitsChains(policy, chains);
  } catch (err) {
    chains?.close();
    throw err;
  }
  const knowledge = c.KNOWLEDGE_DIR ? KnowledgeBase.fromDirectory(abs(c.KNOWLEDGE_DIR)) : undefined;
  const privateKey = loadOrCreateRuntimeKey(c.dataDir, c.AGENT_PRIVATE_KEY);
  const deps: AgentRuntimeDependencies = {
    store: p.store,
    catalog: p.catalog,
    tools: p.tools,
    llm: c.OPENAI_BASE_URL ? new (openAiClientModule().OpenAiLlmClient)({ baseURL: c.OPENAI_BASE_URL, apiKey: c.OPENAI_API_KEY, model: c.OPENAI_MODEL, timeoutMs: c.AGENT_STEP_TIMEOUT_MS, maxRetries: c.LLM_MAX_RETRIES }) : undefined,
    cache,
    knowledge,
    chains,
    // In the shared cache: replicas signing with one wallet never pick the same nonce.
    nonces: new NonceManager(cache),
    policy,
    ledger,
    tokenBudget: new TokenBudget(ledger, { perTask: c.LLM_TOKEN_BUDGET_PER_TASK, perTenantDay: c.LLM_TOKEN_BUDGET_PER_TENANT_DAY }, cache),
    privateKey,
    traceContexts: p.traceContexts,
    logger: p.logger,
    subjectKeys: p.subjectKeys,
  };
  // Unset, the cache is off under hash-only; set, it is the operator's choice, said once so it is not a surprise.
  if (c.LLM_REDACTION === 'hash-only' && c.LLM_CACHE_TTL_MS) {
    // In memory, an erasure reaches it only when made through this process: said, as several
    // processes of every role on one database cannot be told from one (erasureReachError refuses the split ones).
    const unreached = c.MCP_PAYLOAD_POLICY === 'encrypted' && cache.name === 'memory'
      ? "; in this process's memory (no REDIS_URL), which an erasure (DELETE /v1/subjects/:subject/key) empties of the subject's turns only when made through this process: with more than one process, set REDIS_URL"
      : '';
    p.logger?.warn(
      { llmCacheTtlMs: c.LLM_CACHE_TTL_MS },
      `LLM_REDACTION=hash-only with LLM_CACHE_TTL_MS=${c.LLM_CACHE_TTL_MS}: the LLM response cache keeps each answer whole for that long (cache: ${cache.name}), outside the log${unreached}; unset LLM_CACHE_TTL_MS (or set 0) to keep none`,
    );
  }
  const runtime = new AgentRuntime(
    deps,
    {
      maxSteps: c.AGENT_MAX_STEPS,
      stepTimeoutMs: c.AGENT_STEP_TIMEOUT_MS,
      taskTimeoutMs: c.AGENT_TASK_TIMEOUT_MS,
      concurrency: c.AGENT_CONCURRENCY,
      // Unique per process: a lease names its holder (see TaskRun).
      worker: `agent-${hostname()}-${process.pid}`,
      leaseMs: c.AGENT_TASK_LEASE_MS,
      toolResultMaxChars: c.AGENT_TOOL_RESULT_MAX_CHARS,
      model: c.OPENAI_MODEL,
      temperature: c.LLM_TEMPERATURE,
      maxTokens: c.LLM_MAX_TOKENS,
      redaction: c.LLM_REDACTION,
      llmCacheTtlMs: c.LLM_CACHE_TTL_MS,
    },
    p.checkpoints,
  );
  return { runtime, chains, knowledge, signer: computeAddress(privateKey).toLowerCase() };
}
