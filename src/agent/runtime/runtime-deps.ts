import type { Cache } from '../../cache/port';
import type { Clock } from '../../core/clock';
import type { Hex } from '../../core/hex';
import type { EventCatalog } from '../../../events/catalog';
import type { EventStore } from '../../eventstore/port';
import type { ChainRegistry } from '../../web3/chain-registry';
import type { NonceManager } from '../../web3/nonce-manager';
import type { KnowledgeBase } from '../knowledge/knowledge-base';
import type { LlmClient } from '../llm/port';
import type { TokenBudget } from '../llm/token-budget';
import type { PolicyFile } from '../policy/policy';
import type { SpendLedger } from '../policy/spend-ledger';
import type { EventTraceContexts } from '../../telemetry/event-trace-contexts';
import type { ToolCaller } from './tool-caller';
import type { SubjectKeyStore } from '../../erasure/subject-key-store';

export type AgentRuntimeDependencies = {
  store: EventStore;
  catalog: EventCatalog;
  /** The MCP gateway (McpGateway fits) or any ToolCaller. */
  tools: ToolCaller;
  /** Absent = no LLM configured: natural-language tasks fail with LLM_NOT_CONFIGURED. */
  llm?: LlmClient;
  /** LLM response cache and (without `ledger`) the spend ledger. Default: in-memory. */
  cache?: Cache;
  knowledge?: KnowledgeBase;
  /** Configured chains (CHAINS_FILE); absent = no web3 tools. */
  chains?: ChainRegistry;
  /** Nonce locks per (chain, sender). Default: over `cache` (Redis: shared by replicas), else one per process. */
  nonces?: NonceManager;
  policy: PolicyFile;
  ledger?: SpendLedger;
  tokenBudget?: TokenBudget;
  /** secp256k1 key that signs TaskCompleted outputs (loadOrCreateRuntimeKey). */
  privateKey: Hex;
  clock?: Clock;
  /** Subjects' data keys (MCP_PAYLOAD_POLICY=encrypted): a task's sealed input (TaskSubmitted v3) is opened with them. */
  subjectKeys?: SubjectKeyStore;
  /** With tracing on: a task's run continues the trace of the request that submitted it. */
  traceContexts?: EventTraceContexts;
  logger?: { info?(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void; error?(obj: unknown, msg?: string): void };
};

export type AgentRuntimeOptions = {
  /**
   * Names this worker in TaskStarted, TaskLeased and as the actor of runtime events. Unique per
   * process: a worker that restarts under the same name takes its own leases back at once.
   */
  worker: string;
  /** Most tool calls (steps) per task. */
  maxSteps: number;
  stepTimeoutMs: number;
  /** From TaskStarted; includes waits for approval. */
  taskTimeoutMs: number;
  model: string;
  temperature: number;
  maxTokens: number;
  /**
   * LLM_REDACTION: `store` records each turn whole; `hash-only` records no prompt or answer, only
   * their hashes and the turn's metadata (InferenceCompleted v4), the model's tool-call arguments by
   * hash, and the output's `answerHash` in place of `answer` (docs/agent.md).
   */
  redaction: 'store' | 'hash-only';
  /** Gateway tools offered per task (picked by tool search on the instruction). */
  toolsPerTask: number;
  knowledgeChunks: number;
  /** Most characters of one tool result the model is given (the rest is cut, with a note): AGENT_TOOL_RESULT_MAX_CHARS. */
  toolResultMaxChars: number;
  /**
   * LLM_CACHE_TTL_MS: how long the response cache keeps an answer (temperature 0 only); 0 = off.
   * Unset: 24 hours, or off under `redaction: 'hash-only'` (responseCacheTtlMs).
   */
  llmCacheTtlMs?: number;
  /** Tasks run at once by this worker. */
  concurrency: number;
  /** Name of the checkpoint (consumer) in the CheckpointStore. */
  checkpointName: string;
  /**
   * How long a task lease (TaskLeased) lasts; renewed at half-life while the run is active.
   * After a crash, another worker takes the task over once it has expired.
   */
  leaseMs: number;
};

export const defaultRuntimeOptions: AgentRuntimeOptions = {
  worker: 'agent-runtime',
  maxSteps: 20,
  stepTimeoutMs: 60_000,
  taskTimeoutMs: 3_600_000,
  model: 'gpt-4o-mini',
  temperature: 0,
  maxTokens: 1024,
  redaction: 'store',
  toolsPerTask: 8,
  knowledgeChunks: 3,
  toolResultMaxChars: 32_000,
  concurrency: 4,
  checkpointName: 'agent-runtime',
  leaseMs: 30_000,
};
