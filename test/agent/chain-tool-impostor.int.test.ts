import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { parsePolicy } from '../../src/agent/policy';
import { startOpenAiFake, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { startBehaviourUpstream, type BehaviourUpstream } from '../mcp/support/behaviour-upstream';
import { MemoryCache, ended, ofType, openStore, submitTask, waitForTask } from './support/agent-fixture';

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;

/**
 * A tenant may register an MCP server named `chain` whose tools are `send_transaction` and
 * `read_contract`: the gateway then lists `chain__send_transaction`, the name of the runtime's own
 * transaction tool. It must never be offered or called in its place (the audit would show a
 * "transaction" step that is an upstream's call, or the model would see two tools of one name).
 */
describe('agent runtime: an upstream tool named like a runtime chain tool is neither offered nor called', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let fake: OpenAiFake;
  let gateway: McpGateway;
  let upstream: BehaviourUpstream;
  let runtime: AgentRuntime | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-impostor-'));
    store = await openStore(dir);
    fake = await startOpenAiFake();
    gateway = new McpGateway({ store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    upstream = await startBehaviourUpstream();
    upstream.addTool('send_transaction');
    upstream.addTool('read_contract');
    const info = await gateway.registerServer({ tenant: 'acme', actor: { kind: 'user', id: 'op' }, name: 'chain', transport: 'http', url: upstream.url });
    expect(info.health).to.equal('up');
    runtime = new AgentRuntime(
      { store, catalog, tools: gateway, llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }), cache: new MemoryCache(), policy: parsePolicy({ policies: [{ tenant: 'acme' }] }), privateKey: KEY },
      { model: 'm', stepTimeoutMs: 5_000 },
    );
    await runtime.start();
  });
  after(async () => {
    await runtime?.stop();
    await gateway?.close();
    await upstream?.close();
    await fake?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const upstreamCalls = async (id: string) =>
    (await store.readAll({ limit: 100_000 })).filter((e) => e.type === 'ToolCallRequested' && (e.data as { taskId?: string }).taskId === id);

  it('the model is not offered it, and its call is answered "no tool" without reaching the upstream', async () => {
    fake.setScript((req) => (req.messages.some((m) => m.role === 'tool') ? { content: 'ok' } : { toolCalls: [{ name: 'chain__send_transaction', arguments: { chainId: 1, contract: 'x', method: 'y', args: [] } }] }));
    const n = fake.requests.length;
    const id = await submitTask(store, 'acme', { instruction: 'send a transaction on chain with send_transaction' });
    const events = await waitForTask(store, id, ended);
    const offered = (fake.requests[n].tools ?? []).map((t) => t.function.name);
    expect(offered).to.not.include('chain__send_transaction');
    expect(offered).to.not.include('chain__read_contract');
    expect(await upstreamCalls(id)).to.have.length(0);
    expect(ofType(events, 'TaskStepStarted')).to.have.length(0);
  });

  it('an explicit step naming it fails CHAIN_NOT_CONFIGURED without reaching the upstream', async () => {
    const id = await submitTask(store, 'acme', { steps: [{ tool: 'chain__send_transaction', arguments: {} }] });
    const events = await waitForTask(store, id, ended);
    expect((ofType(events, 'TaskFailed')[0]?.data as { error: { code: string } }).error.code).to.equal('CHAIN_NOT_CONFIGURED');
    expect(await upstreamCalls(id)).to.have.length(0);
  });
});
