import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import { loadConfig } from '../../src/config';
import type { EventStore } from '../../src/eventstore/port';
import { createAgentRuntime } from '../../src/agent/create-agent-runtime';
import type { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { startOpenAiFake, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { ended, ofType, openStore, submitTask, waitForTask } from './support/agent-fixture';

/** LLM_MAX_RETRIES reaches the `openai` SDK, which retries 429/5xx with backoff (real SDK, openai-fake over HTTP). */
describe('LLM_MAX_RETRIES (createAgentRuntime from configuration)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: EventStore;
  let fake: OpenAiFake;
  let runtime: AgentRuntime | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-retries-'));
    store = await openStore(dir);
    fake = await startOpenAiFake();
  });
  afterEach(async () => {
    await runtime?.stop();
    runtime = undefined;
  });
  after(async () => {
    await fake?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function runWith(env: Record<string, string>) {
    const config = loadConfig({ DATA_DIR: dir, OPENAI_BASE_URL: fake.baseURL, OPENAI_MODEL: 'm', ...env });
    ({ runtime } = await createAgentRuntime({ config, store, catalog, tools: { callTool: async () => ({ content: [] }) } }));
    await runtime.start();
    const n = fake.requests.length;
    const id = await submitTask(store, 'acme', { instruction: 'say ok' });
    const events = await waitForTask(store, id, ended);
    return { events, requests: fake.requests.length - n };
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
});
