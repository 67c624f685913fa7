import { expect } from 'chai';
import fc from 'fast-check';
import { catalog } from '../../events';
import { contentOf, type RecordedEvent } from '../../src/core/envelope';
import { loneSurrogateIn } from '../../src/core/lone-surrogate';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { parsePolicy } from '../../src/agent/policy';
import type { ToolCaller, ToolCallContext, ToolInfo } from '../../src/agent/runtime/tool-caller';
import type { EventStore } from '../../src/eventstore/port';
import type { OpenAiFake } from '../support/openai-fake/openai-fake';
import { strictJcsHash, untrustedText } from '../support/strict-jcs';
import { MemoryCache, ended, ofType, submitTask, useStoreAndFake, waitForTask } from './support/agent-fixture';

/** An in-test ToolCaller (our own port): answers with the arguments it was given, as text. */
class EchoTools implements ToolCaller {
  args: Record<string, unknown>[] = [];
  tools: ToolInfo[] = [{ name: 'kv__get', description: 'read a value by key', inputSchema: { type: 'object' }, annotations: { readOnlyHint: true, idempotentHint: true } }];
  async callTool(_ctx: ToolCallContext, _name: string, args: Record<string, unknown>) {
    this.args.push(args);
    return { content: [{ type: 'text' as const, text: `got ${JSON.stringify(args)}` }] };
  }
  listTools() {
    return this.tools;
  }
}

/** A chat completion as an OpenAI-compatible server writes it: JSON, a lone surrogate as its escape. */
const answer = (message: Record<string, unknown>, finish_reason: string) =>
  JSON.stringify({ id: 'x', object: 'chat.completion', created: 0, model: 'm', choices: [{ index: 0, message: { role: 'assistant', ...message }, finish_reason }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });

/**
 * A model whose answers hold lone UTF-16 surrogates (in its text, in its tool calls' arguments):
 * the task acts on, answers and records them as the same well-formed text (U+FFFD in their place),
 * and every event of the task hashes as an independent, strict RFC 8785 does.
 */
describe('agent runtime: a model whose text is not well-formed Unicode', function () {
  this.timeout(120_000);
  let store: EventStore;
  let fake: OpenAiFake;
  let runtime: AgentRuntime | undefined;

  useStoreAndFake('omc-illformed-', (s) => ({ store, fake } = s), async () => {
    await runtime?.stop();
    runtime = undefined;
  });

  it('its words, its tool calls\' arguments and its answer are recorded well-formed, the task completes, and every event is reproducible (property)', async () => {
    const tools = new EchoTools();
    runtime = new AgentRuntime(
      {
        store,
        catalog,
        tools,
        llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }),
        cache: new MemoryCache(),
        policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: ['kv__*'] } }] }),
        privateKey: '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318',
      },
      { model: 'm', stepTimeoutMs: 5_000 },
    );
    await runtime.start();
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(untrustedText, untrustedText, untrustedText, async (thought, key, final) => {
        tools.args = [];
        fake.setScript([
          { raw: answer({ content: thought, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'kv__get', arguments: JSON.stringify({ k: key }) } }] }, 'tool_calls') },
          { raw: answer({ content: final }, 'stop') },
        ]);
        // A prompt of its own each run: the response cache (temperature 0) would answer a repeat.
        const id = await submitTask(store, 'acme', { instruction: `look it up with kv (run ${++runs})` });
        const events = await waitForTask(store, id, ended);
        expect(ofType(events, 'TaskFailed'), JSON.stringify(ofType(events, 'TaskFailed').map((e) => e.data))).to.deep.equal([]);
        expect(tools.args).to.deep.equal([{ k: key.toWellFormed() }]);
        const done = ofType(events, 'TaskCompleted')[0].data as { output: { answer: string }; outputHash: string };
        expect(done.output.answer).to.equal(final.toWellFormed());
        // The signed output's hash: reproducible too.
        expect(done.outputHash).to.equal(strictJcsHash(done.output));
        for (const e of events as RecordedEvent[]) {
          expect(loneSurrogateIn(e.data), e.type).to.equal(undefined);
          expect(e.hash, e.type).to.equal(strictJcsHash(contentOf(e)));
        }
      }),
      { numRuns: 12 },
    );
  });
});
