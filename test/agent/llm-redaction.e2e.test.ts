import { expect } from 'chai';
import type { RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { taskStepsProjection } from '../../projections/task-steps.projection';
import { tasksProjection } from '../../projections/tasks.projection';
import { toolCallsProjection } from '../../projections/tool-calls.projection';
import { toolMessages } from '../support/openai-fake/openai-fake';
import { startGatewayHarness, type GatewayHarness } from './support/gateway-harness';
import { ended, ofType, openStore, submitTask, waitForTask } from './support/agent-fixture';


/** Every event of the log (the task's stream and the gateway's toolcall-* streams) but the client's own TaskSubmitted, as text. */
async function logText(store: EventStore): Promise<string> {
  return JSON.stringify((await store.readAll()).filter((e) => e.type !== 'TaskSubmitted'));
}

/** What the read models would hold of the log: each document projection folded over it. */
function readModelsText(events: RecordedEvent[]): string {
  const docs: unknown[] = [];
  for (const p of [tasksProjection, taskStepsProjection, toolCallsProjection] as const) {
    const byId = new Map<string, unknown>();
    for (const e of events) {
      if (!p.canHandle(e)) continue;
      const id = p.documentId(e);
      byId.set(id, (p.evolve as (c: unknown, e: RecordedEvent) => unknown)(byId.get(id), e));
    }
    docs.push(...byId.values());
  }
  // The task's own instruction is the client's input (TaskSubmitted), not the model's: left out here as above.
  return JSON.stringify(docs.map((d) => ({ ...(d as object), instruction: undefined })));
}

describe('LLM_REDACTION=hash-only: no prompt or response content in the log or the read models (real openai client + openai-fake)', function () {
  this.timeout(60_000);
  let h: GatewayHarness;
  // The gateway stores tool payloads (MCP_PAYLOAD_POLICY=store): only LLM_REDACTION keeps what the model wrote out.
  beforeEach(async () => {
    h = await startGatewayHarness('store');
  });
  afterEach(() => h?.close());
  const worker = (name: string, redaction: 'store' | 'hash-only' = 'hash-only') => h.worker(name, { redaction });

  it("keeps neither the model's text nor its tool calls' arguments in any event, only their hashes; the model is told everything all the same", async () => {
    h.fake.setScript((req) =>
      toolMessages(req).length === 0
        ? { content: 'thinking about kilo-secret', toolCalls: [{ id: 'c1', name: 'remote__reverse', arguments: { text: 'lima-secret' } }] }
        : { content: 'the answer is mike-secret' },
    );
    await worker('worker-a').start();
    const id = await submitTask(h.store, 'acme', { instruction: 'reverse some text' });
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);

    const log = await logText(h.store);
    for (const secret of ['kilo-secret', 'lima-secret', 'mike-secret']) expect(log, secret).to.not.contain(secret);
    expect(readModelsText(await h.store.readAll())).to.not.match(/kilo-secret|lima-secret|mike-secret/);

    // Each turn: the digests and the non-content metadata.
    const turns = ofType(events, 'InferenceCompleted');
    expect(turns).to.have.length(2);
    const first = h.fake.requests[0];
    for (const [i, t] of turns.entries()) {
      expect(t.version).to.equal(4);
      expect(t.data).to.not.have.any.keys('responseJson', 'responseOmitted', 'messagesJson');
      expect(t.data).to.include({ turn: i, redaction: 'hash-only', model: 'm', cached: false });
    }
    const message0 = { role: 'assistant', content: 'thinking about kilo-secret', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'remote__reverse', arguments: '{"text":"lima-secret"}' } }] };
    expect((turns[0].data as { responseRedacted: unknown }).responseRedacted).to.deep.equal({
      hash: payloadDigest(message0).hash,
      chars: payloadDigest(message0).json.length,
      contentHash: payloadDigest('thinking about kilo-secret').hash,
      toolCalls: [{ id: 'c1', name: 'remote__reverse' }],
    });
    expect(turns[0].data).to.include({ finishReason: 'tool_calls' });
    expect((turns[1].data as { responseRedacted: { toolCalls: unknown[] } }).responseRedacted.toolCalls).to.deep.equal([]);

    // The step the model asked for: its arguments by hash only, in the task's stream and in the gateway's.
    const started = ofType(events, 'TaskStepStarted')[0].data as Record<string, unknown>;
    expect(started).to.include({ stepId: 'turn-0-c1', tool: 'remote__reverse', source: 'llm', argumentsHash: payloadDigest({ text: 'lima-secret' }).hash });
    expect(started).to.not.have.property('argumentsJson');
    const requested = (await h.store.readAll()).filter((e) => e.type === 'ToolCallRequested');
    expect(requested).to.have.length(1);
    expect(requested[0].data).to.include({ argumentsHash: payloadDigest({ text: 'lima-secret' }).hash, taskId: id }).and.not.to.have.property('argumentsJson');
    // The tool's result is the tool's (MCP_PAYLOAD_POLICY=store): kept.
    expect((ofType(events, 'TaskStepCompleted')[0].data as { resultJson?: string }).resultJson).to.contain('terces-amil');

    // The signed output names the answer by its hash.
    const output = (ofType(events, 'TaskCompleted')[0].data as { output: Record<string, unknown> }).output;
    expect(output).to.deep.equal({ answerHash: payloadDigest('the answer is mike-secret').hash });
    expect(output.answerHash).to.equal((turns[1].data as { responseRedacted: { contentHash: string } }).responseRedacted.contentHash);

    // During the run the model had everything.
    expect(first.messages.at(-1)?.content).to.equal('reverse some text');
    const second = h.fake.requests[1];
    expect(JSON.stringify(second.messages)).to.contain('lima-secret').and.contain('kilo-secret');
    expect(toolMessages(second)).to.deep.equal(['terces-amil']);
  });

  it("a model's slips keep its words out too: arguments that are not JSON, and a tool name no tool has", async () => {
    h.fake.setScript((req) => {
      const told = toolMessages(req);
      if (told.length === 0) return { toolCalls: [{ id: 'b1', name: 'remote__reverse', arguments: '{"text": november-secret' }, { id: 'b2', name: 'oscar_secret_lookup', arguments: {} }] };
      return { content: 'gave up' };
    });
    await worker('worker-a').start();
    const id = await submitTask(h.store, 'acme', { instruction: 'try to reverse some text' });
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);
    const failed = ofType(events, 'TaskStepFailed').map((e) => e.data as { stepId: string; error: { code: string; message: string } });
    expect(failed.map((f) => [f.stepId, f.error.code])).to.deep.equal([
      ['turn-0-b1', 'TOOL_ARGUMENTS_INVALID'],
      ['turn-0-b2', 'MCP_TOOL_NOT_FOUND'],
    ]);
    const log = await logText(h.store);
    expect(log).to.not.contain('november').and.not.contain('oscar_secret');
    expect(failed[0].error.message).to.match(/withheld \(LLM_REDACTION=hash-only\)/);
    expect(failed[1].error.message).to.match(/withheld \(LLM_REDACTION=hash-only\)/);
    // The model is told its mistakes whole, so it can correct them.
    const told = toolMessages(h.fake.requests[1]);
    expect(told[0]).to.contain('TOOL_ARGUMENTS_INVALID').and.contain('november-se'); // the parser quotes the text
    expect(told[1]).to.contain('MCP_TOOL_NOT_FOUND').and.contain('oscar_secret_lookup').and.contain('remote__reverse');
  });

  it("an LLM server's answer that is not a completion is not quoted in TaskFailed", async () => {
    h.fake.setScript([{ raw: 'papa-secret is not json' }]);
    await worker('worker-a').start();
    const id = await submitTask(h.store, 'acme', { instruction: 'anything' });
    const events = await waitForTask(h.store, id, ended);
    const error = (ofType(events, 'TaskFailed')[0]?.data as { error: { code: string; message: string } }).error;
    expect(error.code).to.equal('LLM_RESPONSE_INVALID');
    expect(error.message).to.match(/withheld \(LLM_REDACTION=hash-only\)/);
    expect(await logText(h.store)).to.not.contain('papa-secret');
  });

  it("an LLM server's error text (which may echo the prompt) is withheld in TaskFailed; the status stays", async () => {
    h.fake.setScript([{ status: 400, errorMessage: "invalid request: messages[1].content 'quebec-secret' is not allowed" }]);
    await worker('worker-a').start();
    const id = await submitTask(h.store, 'acme', { instruction: 'quebec-secret' });
    const events = await waitForTask(h.store, id, ended);
    const error = (ofType(events, 'TaskFailed')[0]?.data as { error: { code: string; message: string } }).error;
    expect(error.code).to.equal('LLM_REQUEST_REFUSED');
    expect(error.message).to.match(/^LLM at http:\/\/127\.0\.0\.1:\d+\/v1: 400 withheld \(LLM_REDACTION=hash-only\), sha256 0x[0-9a-f]{64}; refused as a bad request, so not retried$/);
    expect(await logText(h.store)).to.not.contain('quebec-secret');
  });

  it('store (the default) keeps the turns whole, as before: v1 with responseJson and messagesJson, the answer in the output', async () => {
    h.fake.setScript((req) =>
      toolMessages(req).length === 0 ? { toolCalls: [{ id: 'c1', name: 'remote__reverse', arguments: { text: 'quebec' } }] } : { content: 'the answer is romeo' },
    );
    await worker('worker-a', 'store').start();
    const id = await submitTask(h.store, 'acme', { instruction: 'reverse some text' });
    const events = await waitForTask(h.store, id, ended);
    const turns = ofType(events, 'InferenceCompleted');
    expect(turns.map((t) => t.version)).to.deep.equal([1, 1]);
    expect(turns[0].data).to.have.property('responseJson').that.contains('quebec');
    expect(turns[0].data).to.have.property('messagesJson');
    expect((ofType(events, 'TaskStepStarted')[0].data as { argumentsJson?: string }).argumentsJson).to.equal('{"text":"quebec"}');
    expect((ofType(events, 'TaskCompleted')[0].data as { output: unknown }).output).to.deep.equal({ answer: 'the answer is romeo' });
  });
});
