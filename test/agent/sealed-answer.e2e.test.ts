/**
 * A sealed answer (docs/agent.md, "Sealed answers"): under LLM_REDACTION=hash-only the log keeps no
 * answer, so a task submitted with `answerRecipient` (a secp256k1 public key) gets its final answer
 * recorded encrypted to that key in TaskCompleted v2 `sealedAnswer`. End to end: the REST API (the
 * real app, its read models kept by the projector), the agent runtime on the same log with the real
 * openai client against openai-fake, and the SDK and CLI reading the answer back over HTTP.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as secp from '@noble/secp256k1';
import { catalog } from '../../events';
import { AgentRuntime } from '../../src/agent/runtime/agent-runtime';
import { assertTaskRunnable } from '../../src/agent/runtime/assert-task-runnable';
import { OpenAiLlmClient } from '../../src/agent/llm/openai-client';
import { parsePolicy } from '../../src/agent/policy';
import type { ToolCaller } from '../../src/agent/runtime/tool-caller';
import { runTasksAnswer } from '../../src/cli/task-answer';
import { toHex, type Hex } from '../../src/core/hex';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { openSealedAnswer } from '../../src/sdk';
import { clientFromEnvironment } from '../../src/sdk/from-env';
import type { OpenMcpClient } from '../../src/sdk/client';
import { startOpenAiFake, type OpenAiFake } from '../support/openai-fake/openai-fake';
import { makeHarness, type Harness } from '../api/support/harness';
import { MemoryCache, MemoryCheckpointStore, ended, ofType, waitForTask } from './support/agent-fixture';

const SIGNER = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const;
/** No tools: the tasks here are answered in one turn. */
const noTools: ToolCaller = { callTool: async () => ({ content: [] }), searchTools: async () => [] };

/**
 * Wait until the task has ended in the log AND the read models show it. The REST reads (and so the
 * SDK's tasks.get / tasks.answer) come from the read models, which follow the log a moment behind
 * (docs/architecture.md, "Read models as REST clients see them"): only the POST waits for them.
 */
async function waitForEndedTask(h: Harness, id: string) {
  const events = await waitForTask(h.store, id, ended);
  const last = Math.max(...events.map((e) => e.position));
  expect(await h.deps.readModels.waitForPosition(last, 20_000), `read models at position ${last}`).to.equal(true);
  return events;
}

describe('sealed answers under LLM_REDACTION=hash-only: REST submit with answerRecipient, runtime, SDK and CLI (openai-fake)', function () {
  this.timeout(30_000);
  let h: Harness;
  let fake: OpenAiFake;
  let runtime: AgentRuntime;
  let client: OpenMcpClient;
  let dir: string;
  const recipientKey = toHex(secp.utils.randomSecretKey()) as Hex;
  const recipient = toHex(secp.getPublicKey(secp.utils.randomSecretKey(), true));
  const ownRecipient = toHex(secp.getPublicKey(Buffer.from(recipientKey.slice(2), 'hex'), true));
  const otherKey = toHex(secp.utils.randomSecretKey()) as Hex;

  before(async () => {
    fake = await startOpenAiFake();
    dir = mkdtempSync(join(tmpdir(), 'omc-sealed-'));
    h = await makeHarness({ assertTaskRunnable: (task) => assertTaskRunnable({ OPENAI_BASE_URL: fake.baseURL, LLM_REDACTION: 'hash-only' }, task) });
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    client = clientFromEnvironment({ env: { OPENMCP_URL: url, OPENMCP_API_KEY: (await h.key('agent', 'acme')).key } });
    runtime = new AgentRuntime(
      { store: h.store, catalog, tools: noTools, llm: new OpenAiLlmClient({ baseURL: fake.baseURL, model: 'm', maxRetries: 0 }), cache: new MemoryCache(), policy: parsePolicy({ policies: [{ tenant: 'acme', tools: { allow: [] } }] }), privateKey: SIGNER },
      { worker: 'w', model: 'm', stepTimeoutMs: 20_000, leaseMs: 1_000, redaction: 'hash-only' },
      new MemoryCheckpointStore(),
    );
    await runtime.start();
  });
  after(async () => {
    await runtime?.kill();
    await h?.close();
    await fake?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("records the answer sealed to the recipient's key: it opens with that key to the model's answer, whose hash is answerHash; the log holds no plaintext", async () => {
    fake.setScript([{ content: 'the vault code is quebec-secret ✓' }]);
    const { id } = await client.tasks.submit({ instruction: 'what is the vault code?', answerRecipient: ownRecipient });
    const events = await waitForEndedTask(h, id);
    const [submitted] = ofType(events, 'TaskSubmitted');
    expect(submitted.version).to.equal(2);
    expect(submitted.data).to.include({ answerRecipient: ownRecipient });
    const [completed] = ofType(events, 'TaskCompleted');
    expect(completed, events.map((e) => e.type).join()).to.not.equal(undefined);
    expect(completed.version).to.equal(2);
    const data = completed.data as { output: { answerHash: string }; sealedAnswer: { recipient: string } };
    expect(data.output).to.deep.equal({ answerHash: payloadDigest('the vault code is quebec-secret ✓').hash });
    expect(data.sealedAnswer.recipient).to.equal(ownRecipient);
    // The same copy is kept with the final turn (InferenceCompleted v5), for a run resumed after it.
    const [turn] = ofType(events, 'InferenceCompleted');
    expect([turn.version, (turn.data as { sealedAnswer?: unknown }).sealedAnswer]).to.deep.equal([5, data.sealedAnswer]);

    // Opened with the private key: the model's very answer, and it hashes to the signed answerHash.
    expect(openSealedAnswer(data.sealedAnswer as never, recipientKey, { taskId: id, answerHash: data.output.answerHash })).to.equal('the vault code is quebec-secret ✓');

    // Nowhere in the log (every event, the client's TaskSubmitted included) nor in the read model.
    expect(JSON.stringify(await h.store.readAll())).to.not.contain('quebec-secret');
    const view = await client.tasks.get(id);
    expect(view.status).to.equal('completed');
    expect(view.sealedAnswer).to.deep.equal(data.sealedAnswer);
    expect(JSON.stringify(view)).to.not.contain('quebec-secret');

    // The SDK reads it back: fetched, opened, its hash checked.
    expect(await client.tasks.answer(id, { privateKey: recipientKey })).to.deep.equal({ answer: 'the vault code is quebec-secret ✓', answerHash: data.output.answerHash, sealed: true });

    // The CLI: the key from a file (or OPENMCP_ANSWER_KEY); the answer on stdout.
    const keyFile = join(dir, 'answer.key');
    writeFileSync(keyFile, `${recipientKey}\n`, { mode: 0o600 });
    const lines: string[] = [];
    expect(await runTasksAnswer(client, id, { keyFile }, (l) => lines.push(l))).to.equal(0);
    expect(lines).to.deep.equal(['the vault code is quebec-secret ✓']);
  });

  it('a wrong key cannot open it: a clear error naming the key the answer is sealed to (SDK and CLI, exit 1)', async () => {
    fake.setScript([{ content: 'romeo-secret' }]);
    const { id } = await client.tasks.submit({ instruction: 'say the word', answerRecipient: recipient });
    await waitForEndedTask(h, id);
    const err = await client.tasks.answer(id, { privateKey: otherKey }).then(() => undefined, (e: unknown) => e as { code: string; message: string });
    expect(err?.code).to.equal('SEALED_ANSWER_WRONG_KEY');
    expect(err?.message).to.contain(recipient);
    const lines: string[] = [];
    expect(await runTasksAnswer(client, id, { key: otherKey }, (l) => lines.push(l))).to.equal(1);
    expect(lines.join('\n')).to.match(/^error SEALED_ANSWER_WRONG_KEY: /).and.not.contain('romeo-secret');
  });

  it('without a recipient nothing changes: TaskCompleted v1 with answerHash only, and the SDK says the answer is not kept', async () => {
    fake.setScript([{ content: 'sierra-secret' }]);
    const { id } = await client.tasks.submit({ instruction: 'say another word' });
    const events = await waitForEndedTask(h, id);
    expect(ofType(events, 'TaskSubmitted')[0].version).to.equal(1);
    const [completed] = ofType(events, 'TaskCompleted');
    expect(completed.version).to.equal(1);
    expect(completed.data).to.not.have.property('sealedAnswer');
    const err = await client.tasks.answer(id, { privateKey: recipientKey }).then(() => undefined, (e: unknown) => e as { code: string });
    expect(err?.code).to.equal('ANSWER_NOT_KEPT');
  });

  it('under LLM_REDACTION=store a recipient is refused at submission (the answer would be recorded whole): 422 naming the field, nothing appended', async () => {
    const store = await makeHarness({ assertTaskRunnable: (task) => assertTaskRunnable({ OPENAI_BASE_URL: fake.baseURL, LLM_REDACTION: 'store' }, task) });
    try {
      const before = await store.store.headPosition();
      const res = await store.call({ method: 'POST', url: '/v1/tasks', auth: (await store.key('agent', 'acme')).auth, payload: { instruction: 'x', answerRecipient: recipient } });
      expect(res.statusCode).to.equal(422);
      expect(res.json()).to.include({ code: 'ANSWER_RECIPIENT_UNSUPPORTED', field: 'body.answerRecipient' });
      expect(await store.store.headPosition()).to.equal(before);
    } finally {
      await store.close();
    }
  });
});
