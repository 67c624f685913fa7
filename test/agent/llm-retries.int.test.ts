import { expect } from 'chai';
import { catalog } from '../../events';
import { loadConfig } from '../../src/config';
import type { RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { createAgentRuntime } from '../../src/agent/create-agent-runtime';
import type { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import type { OpenAiFake } from '../support/openai-fake/openai-fake';
import { ended, ofType, submitTask, useStoreAndFake, waitForTask } from './support/agent-fixture';

/** LLM_MAX_RETRIES reaches the `openai` SDK, which retries 429/5xx with backoff (real SDK, openai-fake over HTTP). */
describe('LLM_MAX_RETRIES (createAgentRuntime from configuration)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let fake: OpenAiFake;
  let runtime: AgentRuntime | undefined;

  useStoreAndFake('omc-retries-', (s) => ({ dir, store, fake } = s), async () => {
    await runtime?.stop();
    runtime = undefined;
  });

  async function startWith(env: Record<string, string>) {
    const config = loadConfig({ DATA_DIR: dir, OPENAI_BASE_URL: fake.baseURL, OPENAI_MODEL: 'm', ...env });
    ({ runtime } = await createAgentRuntime({ config, store, catalog, tools: { callTool: async () => ({ content: [] }) } }));
    await runtime.start();
    return runtime;
  }

  async function runWith(env: Record<string, string>) {
    await startWith(env);
    const n = fake.requests.length;
    const id = await submitTask(store, 'acme', { instruction: 'say ok' });
    const events = await waitForTask(store, id, ended);
    return { events, requests: fake.requests.length - n };
  }

  const failure = (events: RecordedEvent[]) => (ofType(events, 'TaskFailed')[0]?.data as { error: { code: string; message: string } } | undefined)?.error;

  async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
    const end = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > end) throw new Error(`not seen in ${ms} ms: ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('by default (2) two 429s in a row are retried and the task completes', async () => {
    fake.setScript([{ status: 429 }, { status: 429 }, { content: 'ok' }]);
    const { events, requests } = await runWith({});
    expect(ofType(events, 'TaskFailed')[0]?.data, 'failed').to.equal(undefined);
    expect(requests).to.equal(3);
  });

  it('LLM_MAX_RETRIES=0: one 503 fails the task LLM_UNAVAILABLE after a single request', async () => {
    fake.setScript([{ status: 503 }, { content: 'never' }]);
    const { events, requests } = await runWith({ LLM_MAX_RETRIES: '0' });
    expect((ofType(events, 'TaskFailed')[0]?.data as { error: { code: string } }).error.code).to.equal('LLM_UNAVAILABLE');
    expect(requests).to.equal(1);
  });

  it('a 429 whose Retry-After is past AGENT_STEP_TIMEOUT_MS fails the task at once, LLM_UNAVAILABLE naming the status and the wait asked for', async () => {
    // The SDK slept the whole Retry-After (an hour here), deaf to the step timeout, cancel and stop.
    fake.setScript([{ status: 429, headers: { 'retry-after': '3600' } }, { content: 'never' }]);
    const { events, requests } = await runWith({ AGENT_STEP_TIMEOUT_MS: '5000' });
    const error = failure(events);
    expect(error?.code).to.equal('LLM_UNAVAILABLE');
    expect(error?.message).to.match(/\b429\b/).and.to.include('Retry-After 3600 s').and.to.include('AGENT_STEP_TIMEOUT_MS');
    expect(requests).to.equal(1);
  });

  it("a 400 (here: the context is too long) fails the task at once LLM_REQUEST_REFUSED, with the provider's status and words, not retried", async () => {
    const said = "This model's maximum context length is 8192 tokens. However, your messages resulted in 9001 tokens.";
    fake.setScript([{ status: 400, errorMessage: said }, { content: 'a retry must not get here' }]);
    const { events, requests } = await runWith({ OPENAI_API_KEY: 'sk-test-secret-key' });
    const error = failure(events);
    expect(error?.code).to.equal('LLM_REQUEST_REFUSED');
    expect(error?.message).to.include(`400 ${said}`);
    expect(error?.message).to.not.include('sk-test-secret-key');
    expect(requests).to.equal(1);
  });

  it('a Retry-After that fits in the step timeout is waited for, then the call is retried', async () => {
    fake.setScript([{ status: 503, headers: { 'retry-after': '1' } }, { content: 'ok' }]);
    const { events, requests } = await runWith({});
    expect(failure(events)).to.equal(undefined);
    expect(requests).to.equal(2);
  });

  it('a stop while a call waits to be retried returns without waiting it out, and the task resumes on the next start', async function () {
    this.timeout(30_000); // the SDK's wait (600 s) was not abortable: stop() hung until it ended
    fake.setScript([{ status: 429, headers: { 'retry-after': '600' } }, { content: 'ok' }]);
    const env = { AGENT_STEP_TIMEOUT_MS: '1200000' };
    const rt = await startWith(env);
    const n = fake.requests.length;
    const id = await submitTask(store, 'acme', { instruction: 'say ok' });
    await until('the first request', () => fake.requests.length > n);
    await rt.stop();
    expect(rt.activeTasks()).to.deep.equal([]);
    expect(ended(await store.readStream(`task-${id}`)), 'ended by the stop').to.equal(false);
    fake.setScript([{ content: 'ok' }]);
    await startWith(env);
    const events = await waitForTask(store, id, ended);
    expect((ofType(events, 'TaskCompleted')[0]?.data as { output: { answer: string } }).output.answer).to.equal('ok');
  });
});
