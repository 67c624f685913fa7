import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import type { EventStore } from '../../src/eventstore/port';
import type { ToolCaller } from '../../src/agent/runtime/tool-caller';
import { McpGateway } from '../../src/mcp/gateway';
import { aliasToolName } from '../../src/core/tool-name';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { parsePolicy } from '../../src/agent/policy';

/** A decision's data but its policyHash (the entry's version, checked in task-run.int.test.ts), which must be there. */
function withoutPolicyHash(data: Record<string, unknown>): Record<string, unknown> {
  const { policyHash, ...rest } = data;
  expect(policyHash).to.match(/^0x[0-9a-f]{64}$/);
  return rest;
}
import { openStore, MemoryCache, ended, ofType, submitTask, waitForTask } from './support/agent-fixture';
import { startOpenAiFake, OPENAI_FUNCTION_NAME, type ChatRequest, type FakeReply, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { startBehaviourUpstream, type BehaviourUpstream } from '../mcp/support/behaviour-upstream';
import { until } from '../mcp/support/until';

const KEY = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
const LONG = `report_${'x'.repeat(70)}`;

/** Call the tool whose alias names `files.read` once, then answer with what it said. */
function reader(req: ChatRequest): FakeReply {
  const result = req.messages.find((m) => m.role === 'tool');
  if (result) return { content: `read: ${result.content}` };
  return { toolCalls: [{ name: aliasToolName('beh', 'files.read'), arguments: {} }] };
}

type Rig = { store: EventStore; fake: OpenAiFake; upstream: BehaviourUpstream; gateway: McpGateway; runtime: AgentRuntime };

/**
 * A store, an upstream `beh` with `tools`, a real McpGateway and an AgentRuntime (policy: acme may
 * call `beh__*` but `deny`), made before the describe's tests and closed after them. `model`: an
 * openai-fake answering with `reader`; `registered`: `beh` registered before the runtime starts;
 * `toolsPort`: what the runtime calls tools through, else the gateway.
 */
function rig(o: { prefix: string; tools: string[]; deny?: string[]; model?: boolean; registered?: boolean; listingHoldMs?: number; toolsPort?: (g: McpGateway) => ToolCaller }): Rig {
  const t = {} as Rig;
  let dir: string;
  const warn = console.warn;
  before(async function () {
    // The upstream's SDK warns of names outside MCP's recommended format: they are what this file is about.
    console.warn = () => {};
    dir = mkdtempSync(join(tmpdir(), o.prefix));
    t.store = await openStore(dir);
    if (o.model) t.fake = await startOpenAiFake(reader);
    t.upstream = await startBehaviourUpstream();
    for (const n of o.tools) t.upstream.addTool(n);
    t.gateway = new McpGateway({ store: t.store, upstream: { healthIntervalMs: 0 }, ...(o.listingHoldMs !== undefined ? { listingHoldMs: o.listingHoldMs } : {}) });
    await t.gateway.start();
    if (o.registered) await registerBeh(t);
    t.runtime = new AgentRuntime(
      {
        store: t.store,
        catalog,
        tools: o.toolsPort?.(t.gateway) ?? t.gateway,
        ...(o.model ? { llm: new OpenAiLlmClient({ baseURL: t.fake.baseURL, model: 'm', maxRetries: 0 }) } : {}),
        cache: new MemoryCache(),
        policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['beh__*'], ...(o.deny ? { deny: o.deny } : {}) } }] }),
        privateKey: KEY,
      },
      { model: 'm', stepTimeoutMs: 10_000 },
    );
    await t.runtime.start();
  });
  after(async function () {
    await t.runtime?.stop();
    await t.gateway?.close();
    await t.upstream?.close();
    await t.fake?.close();
    await t.store?.close();
    rmSync(dir, { recursive: true, force: true });
    console.warn = warn;
  });
  return t;
}

function registerBeh(t: Rig) {
  return t.gateway.registerServer({ tenant: 'acme', actor: { kind: 'user', id: 'alice' }, name: 'beh', transport: 'http', url: t.upstream.url });
}

/** A first start's registration held until `release`; `waited()`: the run (or the gateway's call) waited for it. */
function holdNewcomer(gateway: McpGateway): { release(): void; waited(): boolean } {
  let release!: () => void;
  gateway.holdListing(new Promise<void>((r) => (release = r)));
  let waited = false;
  const newcomersRegistering = gateway.newcomersRegistering.bind(gateway);
  gateway.newcomersRegistering = () => {
    waited = true;
    return newcomersRegistering();
  };
  return { release: () => release(), waited: () => waited };
}

/**
 * One upstream tool whose namespaced name an LLM host refuses (a dot, over 64 characters) must not
 * cost a tenant every agent call: the OpenAI API answers 400 to a request with such a tool name.
 * The model is shown host-safe aliases; steps and policy go by the exact namespaced name.
 */
describe('agent runtime: tool names the LLM host accepts (real McpGateway, openai-fake)', function () {
  this.timeout(60_000);
  const t = rig({ prefix: 'omc-names-', tools: ['files.read', 'files.delete', LONG], deny: ['beh__files.delete'], model: true, registered: true });

  it('the model is offered host-safe names, calls one, and the step and audit name the exact tool', async function () {
    const id = await submitTask(t.store, 'acme', { instruction: 'files read report delete: read the file' });
    const events = await waitForTask(t.store, id, ended);
    expect(ofType(events, 'TaskFailed').map((e) => JSON.stringify(e.data))).to.deep.equal([]);
    expect((ofType(events, 'TaskCompleted')[0].data as { output: { answer: string } }).output.answer).to.equal('read: files.read');
    const offered = t.fake.requests[0].tools!.map((x) => x.function.name);
    for (const n of offered) expect(n).to.match(OPENAI_FUNCTION_NAME).and.have.length.at.most(64);
    expect(offered).to.include.members([aliasToolName('beh', 'files.read'), aliasToolName('beh', LONG)]);
    // Denied by its namespaced name, so not offered under its alias either.
    expect(offered).not.to.include(aliasToolName('beh', 'files.delete'));
    expect(ofType(events, 'TaskStepStarted').map((e) => (e.data as { tool: string }).tool)).to.deep.equal(['beh__files.read']);
    const calls = (await t.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested').map((e) => e.data as { server: string; tool: string; taskId?: string });
    expect(calls.filter((c) => c.taskId === id).map((c) => `${c.server}/${c.tool}`)).to.deep.equal(['beh/files.read']);
  });

  it('an explicit step naming a tool by its alias is checked by policy under the namespaced name', async function () {
    const id = await submitTask(t.store, 'acme', { steps: [{ tool: aliasToolName('beh', 'files.delete'), arguments: {} }] });
    const events = await waitForTask(t.store, id, ended);
    const failed = ofType(events, 'TaskFailed')[0]?.data as { error: { code: string } };
    expect(failed.error.code).to.equal('POLICY_DENIED');
    expect(ofType(events, 'PolicyEvaluated').map((e) => withoutPolicyHash(e.data))).to.deep.equal([
      { stepId: 'step-0', subject: 'tool', tool: 'beh__files.delete', decision: 'deny', rule: 'tools.deny', reason: 'tool beh__files.delete matches deny pattern beh__files.delete', policy: 'acme/*' },
    ]);
    const deletes = (await t.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested' && (e.data as { tool: string }).tool === 'files.delete');
    expect(deletes).to.deep.equal([]);
  });

  it('an explicit step misspelling a tool that the allowlist then denies says which tool was meant', async function () {
    // Without a POLICY_FILE the gateway answers MCP_TOOL_NOT_FOUND "did you mean …"; an allowlist
    // decided first, and its "not in the allowlist" hid that the name was only misspelt.
    const id = await submitTask(t.store, 'acme', { steps: [{ tool: 'beh_files.read', arguments: {} }] });
    const events = await waitForTask(t.store, id, ended);
    const error = (ofType(events, 'TaskFailed')[0]?.data as { error: { code: string; message: string } }).error;
    expect(error.code).to.equal('POLICY_DENIED');
    expect(error.message).to.equal(
      'step 0 (beh_files.read): policy rule tools.allow: tool beh_files.read is not in the allowlist; no tool is named beh_files.read: did you mean beh__files.read? (tools are named <server>__<tool>, two underscores)',
    );
    // The decision itself is the engine's, unchanged.
    expect(withoutPolicyHash(ofType(events, 'PolicyEvaluated')[0].data)).to.include({ rule: 'tools.allow', reason: 'tool beh_files.read is not in the allowlist' });
  });
});

/**
 * `openmcp start` runs tasks while the servers of its configuration register (registerAtStart): on
 * a first start, a step may name a tool of a server not yet discovered (the gateway holds calls of
 * unknown tools for it until it settles, listings only briefly: holdListing). Its alias must still
 * be checked under the namespaced name.
 */
describe('agent runtime: an explicit step naming a tool of a server still registering at a first start', function () {
  this.timeout(20_000);
  // Listings stop waiting for a newcomer almost at once (LISTING_HOLD_MS): a step waits for its registration all the same.
  const t = rig({ prefix: 'omc-names-held-', tools: ['files.delete'], deny: ['beh__files.delete'], listingHoldMs: 1 });

  it('waits for its discovery, then is checked by policy under the namespaced name (denied), never called', async function () {
    const held = holdNewcomer(t.gateway);
    const id = await submitTask(t.store, 'acme', { steps: [{ tool: aliasToolName('beh', 'files.delete'), arguments: {} }] });
    await until('the step waits for the registration', held.waited);
    await registerBeh(t);
    held.release();
    const events = await waitForTask(t.store, id, ended);
    expect((ofType(events, 'TaskFailed')[0]?.data as { error: { code: string } }).error.code).to.equal('POLICY_DENIED');
    expect(ofType(events, 'PolicyEvaluated').map((e) => withoutPolicyHash(e.data))).to.deep.include.members([{ stepId: 'step-0', subject: 'tool', tool: 'beh__files.delete', decision: 'deny', rule: 'tools.deny', reason: 'tool beh__files.delete matches deny pattern beh__files.delete', policy: 'acme/*' }]);
    const deletes = (await t.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested');
    expect(deletes).to.deep.equal([]);
  });

  it('a stop interrupts a step waiting for the registration, as it does the call (no wait for its connect)', async function () {
    const held = holdNewcomer(t.gateway);
    const id = await submitTask(t.store, 'acme', { steps: [{ tool: 'other__tool', arguments: {} }] });
    await until('the step waits for the registration', held.waited);
    try {
      // Never released before the stop: it would wait for ever otherwise (the test's timeout).
      await t.runtime.stop();
      expect(ofType(await waitForTask(t.store, id, () => true), 'TaskLeaseReleased')).to.have.length(1);
    } finally {
      held.release();
    }
  });
});

/**
 * A natural-language task submitted on a first start, while a server new to the catalog registers:
 * the tools offered to the model are picked once, for the whole task (no list_changed reaches a
 * task), so they are picked once the registration has settled, as a step naming one of its tools
 * waits for it; not once the listings' short hold (LISTING_HOLD_MS) is over.
 */
describe('agent runtime: a natural-language task at a first start, a server still registering', function () {
  this.timeout(30_000);
  // Listings stop waiting for the newcomer at once: the task's tools must not.
  const t = rig({ prefix: 'omc-names-nl-held-', tools: ['files.read'], model: true, listingHoldMs: 1 });

  it("the model is offered the newcomer's tools, discovered after the listings' hold", async function () {
    const held = holdNewcomer(t.gateway);
    const id = await submitTask(t.store, 'acme', { instruction: 'files read: read the file' });
    // Either the run waits for the registration, or (as it did) it asks the model without its tools.
    await until('the run waits for the registration, or asks the model', () => held.waited() || t.fake.requests.length > 0);
    await registerBeh(t);
    held.release();
    const events = await waitForTask(t.store, id, ended);
    expect(t.fake.requests[0].tools?.map((x) => x.function.name) ?? [], 'offered to the model').to.include(aliasToolName('beh', 'files.read'));
    expect(ofType(events, 'TaskFailed').map((e) => JSON.stringify(e.data))).to.deep.equal([]);
    expect((ofType(events, 'TaskCompleted')[0].data as { output: { answer: string } }).output.answer).to.equal('read: files.read');
  });
});

/**
 * An explicit step's tool is looked up, decided on by policy, then called. A tool that was not in
 * the catalog at the lookup but is at the call (registered, or discovered through list_changed, in
 * between) was decided on under the name the step gave: its alias passed `allow: [beh__*]` and
 * missed `deny: [beh__files.delete]`, and the gateway then resolved the alias and called
 * files.delete. The call now names what was decided, and the gateway refuses another tool.
 */
describe('agent runtime: a tool that appears between the policy decision and the call', function () {
  this.timeout(30_000);
  // The catalog as the step's lookup saw it, a moment before the server's tools were discovered.
  const t = rig({
    prefix: 'omc-names-race-',
    tools: ['files.delete'],
    deny: ['beh__files.delete'],
    registered: true,
    toolsPort: (g) => ({ payloadPolicy: g.payloadPolicy, listTools: () => [], callTool: g.callTool.bind(g) }),
  });

  it('the alias decided on as given is not resolved to the denied tool: MCP_TOOL_NOT_FOUND, never called', async function () {
    const alias = aliasToolName('beh', 'files.delete');
    const id = await submitTask(t.store, 'acme', { steps: [{ tool: alias, arguments: {} }] });
    const events = await waitForTask(t.store, id, ended);
    const failed = ofType(events, 'TaskStepFailed')[0]?.data as { error: { code: string } };
    expect(failed?.error.code).to.equal('MCP_TOOL_NOT_FOUND');
    const deletes = (await t.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested' && (e.data as { tool: string }).tool === 'files.delete');
    expect(deletes).to.deep.equal([]);
  });
});
