import { MemorySubjectKeyStore } from '../../../src/erasure/memory-subject-key-store';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../../events';
import type { RecordedEvent } from '../../../src/core/envelope';
import type { EventStore } from '../../../src/eventstore/port';
import { McpGateway } from '../../../src/mcp/gateway';
import type { PayloadPolicy } from '../../../src/mcp/audit';
import { AgentRuntime } from '../../../src/agent/runtime/agent-runtime';
import type { AgentRuntimeOptions } from '../../../src/agent/runtime/runtime-deps';
import { OpenAiLlmClient } from '../../../src/agent/llm/openai-client';
import { parsePolicy } from '../../../src/agent/policy';
import { startHttpExample, type HttpExample } from '../../../examples/mcp-http/server';
import { startOpenAiFake, type OpenAiFake } from '../../support/openai-fake/openai-fake';
import { MemoryCache, MemoryCheckpointStore, openStore } from './agent-fixture';

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
const actor = { kind: 'user' as const, id: 'alice' };

/** Events as text, leaving out what the client and the model wrote themselves (the task's input, the model's answers). */
export function recordedText(events: RecordedEvent[]): string {
  return JSON.stringify(
    events
      .filter((e) => e.type !== 'TaskSubmitted')
      .map((e) => (e.type === 'InferenceCompleted' ? { ...e, data: { ...(e.data as object), responseJson: undefined } } : e)),
  );
}

/**
 * An agent runtime's world for a test file: a SQLite event store, the real gateway (its payload
 * policy as given) with the HTTP example upstream (test tools on) as `remote` for tenant `acme`,
 * allowed `remote__*`, and openai-fake as the model `m`.
 */
export type GatewayHarness = {
  store: EventStore;
  gateway: McpGateway;
  remote: HttpExample;
  fake: OpenAiFake;
  /** The subjects' keys under `encrypted` (shared by the gateway and the workers). */
  subjectKeys?: MemorySubjectKeyStore;
  /** A runtime named `name` (not started), killed by stopWorkers(). */
  worker(name: string, options?: Partial<AgentRuntimeOptions>): AgentRuntime;
  stopWorkers(): Promise<void>;
  close(): Promise<void>;
};

export async function startGatewayHarness(payloadPolicy: PayloadPolicy): Promise<GatewayHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'omc-harness-'));
  const store = await openStore(dir);
  const remote = await startHttpExample({ testTools: true });
  const subjectKeys = payloadPolicy === 'encrypted' ? new MemorySubjectKeyStore() : undefined;
  const gateway = new McpGateway({ store, payloadPolicy, subjectKeys, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
  await gateway.start();
  await gateway.registerServer({ tenant: 'acme', actor, name: 'remote', transport: 'http', url: remote.url });
  const fake = await startOpenAiFake();
  let runtimes: AgentRuntime[] = [];
  const stopWorkers = async () => {
    await Promise.all(runtimes.map((r) => r.kill()));
    runtimes = [];
  };
  return {
    store,
    gateway,
    remote,
    fake,
    subjectKeys,
    worker(name, options = {}) {
      const rt = new AgentRuntime(
        {
          store,
          catalog,
          tools: gateway,
          llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }),
          cache: new MemoryCache(),
          policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['remote__*'] } }] }),
          privateKey: KEY,
          subjectKeys,
        },
        { worker: name, model: 'm', stepTimeoutMs: 20_000, leaseMs: 1_000, ...options },
        new MemoryCheckpointStore(),
      );
      runtimes.push(rt);
      return rt;
    },
    stopWorkers,
    async close() {
      await stopWorkers();
      await gateway.close();
      await remote.close();
      await fake.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The hooks of a test file sharing one harness: started before its tests (handed to `set`), its
 * workers stopped after each test, closed at the end.
 * @example let h: GatewayHarness; gatewayHarnessForFile('encrypted', (x) => (h = x));
 */
export function gatewayHarnessForFile(payloadPolicy: PayloadPolicy, set: (h: GatewayHarness) => void): void {
  let h: GatewayHarness | undefined;
  before(async () => {
    h = await startGatewayHarness(payloadPolicy);
    set(h);
  });
  afterEach(() => h?.stopWorkers());
  after(() => h?.close());
}
