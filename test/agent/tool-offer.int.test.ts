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
import type { ToolCaller, ToolInfo } from '../../src/agent/runtime/tool-caller';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { startOpenAiFake, toolMessages, type ChatRequest, type FakeReply, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { openStore, MemoryCache, MemoryCheckpointStore, ended, ofType, submitTask, waitForTask, user } from './support/agent-fixture';
import { until } from '../mcp/support/until';

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
/** Shares no word with any example tool's name or description (checked: the search finds none). */
const GREET = 'Please greet me warmly';

/** Echo `hello` when offered an echo tool, then answer with what it said; without one, say so. */
function greeter(req: ChatRequest): FakeReply {
  const said = toolMessages(req)[0];
  if (said !== undefined) return { content: `said: ${said}` };
  const echo = (req.tools ?? []).map((t) => t.function.name).find((n) => n.endsWith('__echo'));
  return echo ? { toolCalls: [{ name: echo, arguments: { text: 'hello' } }] } : { content: 'I have no tool to greet you with.' };
}

/**
 * Which tools a natural-language task is offered when its instruction shares no word with any
 * tool (lexical search finds nothing): tenant `small` sees the 4 bundled example tools (fewer than
 * toolsPerTask, 8), tenant `large` the example with its test tools (10).
 */
describe('agent runtime: tools offered when the search finds none (real McpGateway, openai-fake)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let fake: OpenAiFake;
  let small: HttpExample;
  let large: HttpExample;
  let gateway: McpGateway;
  let runtime: AgentRuntime;
  const infos: { obj: Record<string, unknown>; msg?: string }[] = [];

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'omc-offer-'));
    store = await openStore(dir);
    fake = await startOpenAiFake(greeter);
    small = await startHttpExample();
    large = await startHttpExample({ testTools: true });
    gateway = new McpGateway({ store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    await gateway.registerServer({ tenant: 'small', actor: user, name: 'examples', transport: 'http', url: small.url });
    await gateway.registerServer({ tenant: 'large', actor: user, name: 'big', transport: 'http', url: large.url });
    await gateway.registerServer({ tenant: 'ruled', actor: user, name: 'examples', transport: 'http', url: small.url });
    await until('the example tools listed', () => gateway.listTools('small').length === 4 && gateway.listTools('large').length === 10 && gateway.listTools('ruled').length === 4);
    runtime = new AgentRuntime(
      {
        store,
        catalog,
        tools: gateway,
        llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }),
        cache: new MemoryCache(),
        policy: parsePolicy({ policies: [{ tenant: 'small', tools: { allow: ['examples__*'] } }, { tenant: 'large', tools: { allow: ['big__*'] } }, { tenant: 'ruled', tools: { allow: ['examples__*'], deny: ['examples__now'] } }] }),
        privateKey: KEY,
        logger: { warn: () => {}, info: (obj, msg) => void infos.push({ obj: obj as Record<string, unknown>, msg }) },
      },
      { model: 'm', stepTimeoutMs: 10_000 },
    );
    await runtime.start();
  });
  after(async function () {
    await runtime?.stop();
    await gateway?.close();
    await small?.close();
    await large?.close();
    await fake?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a catalog no larger than toolsPerTask is offered whole, so the model can use it', async function () {
    expect((await gateway.searchTools('small', GREET, 8)).map((h) => h.tool.name), 'the premise: no word in common').to.deep.equal([]);
    fake.requests.length = 0;
    const id = await submitTask(store, 'small', { instruction: GREET });
    const events = await waitForTask(store, id, ended);
    expect(ofType(events, 'TaskFailed').map((e) => JSON.stringify(e.data))).to.deep.equal([]);
    // By name (the search found none): not in the order the catalog lists them (echo, add, reverse, now).
    const all = ['examples__add', 'examples__echo', 'examples__now', 'examples__reverse'];
    expect(fake.requests[0].tools?.map((t) => t.function.name)).to.deep.equal(all);
    // Recorded as offered tools are: each turn's InferenceCompleted names them.
    expect(ofType(events, 'InferenceCompleted').map((e) => (e.data as { tools: string[] }).tools)).to.deep.equal([all, all]);
    expect(ofType(events, 'TaskStepStarted').map((e) => (e.data as { tool: string }).tool)).to.deep.equal(['examples__echo']);
    expect((ofType(events, 'TaskCompleted')[0].data as { output: { answer: string } }).output.answer).to.equal('said: hello');
  });

  it("the gateway records the step each of the task's calls is made for (ToolCallRequested v5 stepId)", async function () {
    const id = await submitTask(store, 'small', { instruction: GREET });
    const events = await waitForTask(store, id, ended);
    const stepIds = ofType(events, 'TaskStepStarted').map((e) => (e.data as { stepId: string }).stepId);
    expect(stepIds).to.have.length(1).and.to.match(/^turn-0-/);
    const requested = (await store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested' && (e.data as { taskId?: string }).taskId === id);
    expect(requested.map((e) => [e.version, (e.data as { stepId?: string }).stepId])).to.deep.equal([[5, stepIds[0]]]);
  });

  it('the search ranks first: tools it found come before the rest of a small catalog', async function () {
    fake.requests.length = 0;
    const id = await submitTask(store, 'small', { instruction: 'reverse this: olleh' });
    await waitForTask(store, id, ended);
    expect(fake.requests[0].tools?.map((t) => t.function.name)).to.deep.equal(['examples__reverse', 'examples__add', 'examples__echo', 'examples__now']);
  });

  it('a larger catalog the search finds nothing in: no tool offered, as before, and the log says why', async function () {
    expect((await gateway.searchTools('large', GREET, 8)).map((h) => h.tool.name), 'the premise: no word in common').to.deep.equal([]);
    fake.requests.length = 0;
    infos.length = 0;
    const id = await submitTask(store, 'large', { instruction: GREET });
    const events = await waitForTask(store, id, ended);
    expect(fake.requests[0].tools ?? []).to.deep.equal([]);
    expect(ofType(events, 'InferenceCompleted').map((e) => (e.data as { tools: string[] }).tools)).to.deep.equal([[]]);
    expect((ofType(events, 'TaskCompleted')[0].data as { output: { answer: string } }).output.answer).to.equal('I have no tool to greet you with.');
    const said = infos.filter((i) => i.obj.taskId === id && i.msg?.includes('no tool'));
    expect(said.map((i) => ({ ...i.obj, msg: i.msg }))).to.deep.equal([
      {
        taskId: id,
        catalogTools: 10,
        toolsPerTask: 8,
        msg: 'tool search found no tool for the instruction in a catalog larger than toolsPerTask: no gateway tool offered to the model',
      },
    ]);
    // The instruction is the client's words: not in the log.
    expect(JSON.stringify(said)).not.to.include('greet');
  });

  it('a larger catalog the search finds tools in: only those are offered, as before', async function () {
    fake.requests.length = 0;
    infos.length = 0;
    const id = await submitTask(store, 'large', { instruction: 'reverse this: olleh' });
    await waitForTask(store, id, ended);
    expect(fake.requests[0].tools?.map((t) => t.function.name)).to.deep.equal(['big__reverse']);
    expect(infos.filter((i) => i.obj.taskId === id && i.msg?.includes('no tool'))).to.deep.equal([]);
  });

  it('a small catalog offered whole still leaves out what the policy forbids', async function () {
    fake.requests.length = 0;
    const id = await submitTask(store, 'ruled', { instruction: GREET });
    const events = await waitForTask(store, id, ended);
    const offered = ['examples__add', 'examples__echo', 'examples__reverse'];
    expect(fake.requests[0].tools?.map((t) => t.function.name)).to.deep.equal(offered);
    expect((ofType(events, 'InferenceCompleted')[0].data as { tools: string[] }).tools).to.deep.equal(offered);
  });
});

/**
 * The catalog's order is the order this process applied its servers' registrations: its own at
 * once, another replica's as it follows the log, so two replicas (or one after a restart) may list
 * the same tools in another order. The tools a task is offered do not depend on it.
 */
describe('agent runtime: a small catalog offered whole in one order, whatever the catalog order', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let fake: OpenAiFake;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), 'omc-offer-order-'));
    store = await openStore(dir);
    fake = await startOpenAiFake(() => ({ content: 'ok' }));
  });
  after(async function () {
    await fake?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The tools offered to a task run by a runtime whose catalog lists `names` in that order (the search finds none). */
  async function offeredWith(names: string[]): Promise<string[]> {
    const listed: ToolInfo[] = names.map((name) => ({ name, description: `tool ${name}`, inputSchema: { type: 'object' } }));
    const tools: ToolCaller = {
      callTool: async () => ({ content: [] }),
      searchTools: async () => [],
      listTools: () => listed,
    };
    const runtime = new AgentRuntime(
      { store, catalog, tools, llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }), cache: new MemoryCache(), policy: parsePolicy({ policies: [] }), privateKey: KEY },
      { model: 'm', stepTimeoutMs: 10_000 },
    );
    await runtime.start();
    try {
      const id = await submitTask(store, 'acme', { instruction: GREET });
      const events = await waitForTask(store, id, ended);
      return (ofType(events, 'InferenceCompleted')[0].data as { tools: string[] }).tools;
    } finally {
      await runtime.stop();
    }
  }

  /**
   * The tools offered to a task run under `policy` by a runtime whose catalog lists `names`, and
   * whose search ranks `ranked` first (each search answers at most the k it is asked for), and the k asked.
   */
  async function offeredUnder(names: string[], policy: Parameters<typeof parsePolicy>[0], ranked: string[] = []): Promise<{ offered: string[]; asked: number[] }> {
    const listed: ToolInfo[] = names.map((name) => ({ name, description: `tool ${name}`, inputSchema: { type: 'object' } }));
    const byName = new Map(listed.map((t) => [t.name, t]));
    const asked: number[] = [];
    const tools: ToolCaller = {
      callTool: async () => ({ content: [] }),
      searchTools: async (_tenant, _q, k) => (asked.push(k), ranked.slice(0, k).map((n, i) => ({ tool: byName.get(n)!, score: 1 / (i + 1) }))),
      listTools: () => listed,
    };
    const runtime = new AgentRuntime(
      { store, catalog, tools, llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }), cache: new MemoryCache(), policy: parsePolicy(policy), privateKey: KEY },
      { model: 'm', stepTimeoutMs: 10_000 },
    );
    await runtime.start();
    try {
      const id = await submitTask(store, 'acme', { instruction: GREET });
      const events = await waitForTask(store, id, ended);
      expect(ofType(events, 'TaskFailed').map((e) => JSON.stringify(e.data))).to.deep.equal([]);
      const offered = (ofType(events, 'InferenceCompleted')[0].data as { tools: string[] }).tools;
      expect(fake.requests.at(-1)?.tools?.map((t) => t.function.name) ?? []).to.deep.equal(offered);
      return { offered, asked };
    } finally {
      await runtime.stop();
    }
  }

  const tenTools = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => `ok__${n}`).concat(['no__x', 'no__y', 'no__z']);

  it('a catalog larger than toolsPerTask that the policy narrows to toolsPerTask or fewer is offered whole (counted after the policy)', async function () {
    // 10 tools, 3 of which the policy forbids: the 7 the task may call cost no more than the search's 8 best.
    const { offered } = await offeredUnder(tenTools, { policies: [{ tenant: 'acme', tools: { allow: ['ok__*', 'no__*'], deny: ['no__*'] } }] });
    expect(offered).to.deep.equal(['ok__a', 'ok__b', 'ok__c', 'ok__d', 'ok__e', 'ok__f', 'ok__g']);
  });

  it('a catalog of toolsPerTask or fewer whose tools the policy all forbids offers none', async function () {
    const { offered } = await offeredUnder(['no__x', 'no__y'], { policies: [{ tenant: 'acme', tools: { allow: ['ok__*'] } }] });
    expect(offered).to.deep.equal([]);
  });

  it("in a larger catalog, tools the policy forbids take none of the search's toolsPerTask places", async function () {
    // 14 tools, the 4 forbidden ones ranked first: the task gets the 8 best it may call, not 4.
    const allowed = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'].map((n) => `ok__${n}`);
    const denied = ['no__w', 'no__x', 'no__y', 'no__z'];
    const { offered, asked } = await offeredUnder([...allowed, ...denied], { policies: [{ tenant: 'acme', tools: { allow: ['ok__*'] } }] }, [...denied, ...[...allowed].reverse()]);
    expect(offered).to.deep.equal([...allowed].reverse().slice(0, 8));
    expect(asked, 'the search is asked for enough to leave 8 after the policy').to.deep.equal([12]);
  });

  it('two replicas listing the same tools in other orders offer them alike (by name)', async function () {
    const names = ['b__two', 'a__one', 'c__three'];
    expect(await offeredWith(names)).to.deep.equal(['a__one', 'b__two', 'c__three']);
    expect(await offeredWith([...names].reverse())).to.deep.equal(['a__one', 'b__two', 'c__three']);
  });

  it('a resumed run offers what the task was offered (InferenceCompleted.tools), though the catalog has grown past toolsPerTask since', async function () {
    const info = (name: string): ToolInfo => ({ name, description: `tool ${name}`, inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, idempotentHint: true } });
    let listed = ['d__four', 'a__one', 'c__three', 'b__two'].map(info);
    const tools: ToolCaller = {
      callTool: async () => ({ content: [{ type: 'text', text: 'one' }] }),
      searchTools: async () => [],
      listTools: () => listed,
    };
    let hung = false;
    fake.setScript((req) => {
      if (!toolMessages(req).length) return { toolCalls: [{ id: 'c1', name: 'a__one', arguments: {} }] };
      if (!hung) return (hung = true), { hang: true };
      return { content: 'done' };
    });
    const worker = (name: string) =>
      new AgentRuntime(
        { store, catalog, tools, llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }), cache: new MemoryCache(), policy: parsePolicy({ policies: [] }), privateKey: KEY },
        { worker: name, model: 'm', stepTimeoutMs: 20_000, leaseMs: 1_000 },
        new MemoryCheckpointStore(),
      );
    const a = worker('worker-a');
    const b = worker('worker-b');
    try {
      await a.start();
      fake.requests.length = 0;
      const id = await submitTask(store, 'acme', { instruction: GREET });
      await until('the second model call hangs', () => hung);
      await a.kill();
      // Servers registered meanwhile: 10 tools, none the search finds.
      listed = [...listed, ...['e', 'f', 'g', 'h', 'i', 'j'].map((n) => info(`${n}__more`))];
      await b.start();
      const events = await waitForTask(store, id, ended);
      expect(ofType(events, 'TaskFailed').map((e) => JSON.stringify(e.data))).to.deep.equal([]);
      const first = ['a__one', 'b__two', 'c__three', 'd__four'];
      expect(ofType(events, 'InferenceCompleted').map((e) => (e.data as { tools: string[] }).tools)).to.deep.equal([first, first]);
      expect(fake.requests.at(-1)?.tools?.map((t) => t.function.name)).to.deep.equal(first);
    } finally {
      await a.kill();
      await b.kill();
      fake.setScript(() => ({ content: 'ok' }));
    }
  });
});
