import { expect } from 'chai';
import { toolMessages } from '../support/openai-fake/openai-fake';
import { gatewayHarnessForFile, type GatewayHarness } from '../agent/support/gateway-harness';
import { ended, ofType, submitTask, user, waitForTask } from '../agent/support/agent-fixture';
import { subjectOf } from '../../src/erasure/subject';
import { PAYLOAD_HASH_SCHEME, saltedPayloadHash } from '../../src/erasure/salted-hash';
import { openedSalt } from '../../src/erasure/opened';
import { stepErrorAad, taskErrorAad, turnPromptAad, turnResponseAad, type SealedPayload } from '../../src/erasure/sealed-payload';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { subjectRefs } from '../../projections/subject-events.projection';

type Redacted = { hash: string; chars: number; contentHash: string; toolCalls: { id: string; name?: string }[]; hashScheme?: string; hashSaltSealed?: SealedPayload };

/**
 * A model turn under LLM_REDACTION=hash-only that only called a tool: InferenceCompleted keeps
 * `responseRedacted` {hash, chars, contentHash, toolCalls: [{id, name}]}, so its hash covers little
 * but the model's arguments. Kept as the plain SHA-256, a guessed argument (an e-mail address) was
 * confirmable from it after the subject's key was erased, though the tool call's own argument hash
 * is salted. Under MCP_PAYLOAD_POLICY=encrypted it is salted, the salt alone sealed under the
 * submitter's key (InferenceCompleted v7).
 */
describe("InferenceCompleted under MCP_PAYLOAD_POLICY=encrypted: a redacted turn's hash is salted, erased with the submitter's key", function () {
  this.timeout(60_000);
  let h: GatewayHarness;
  gatewayHarnessForFile('encrypted', (x) => (h = x));

  it("a turn that only called a tool: after erasure a guessed tool argument is not confirmable from the turn's own hash", async () => {
    h.fake.setScript((req) => (toolMessages(req).length === 0 ? { toolCalls: [{ id: 'c1', name: 'remote__reverse', arguments: { text: 'gina@example.com' } }] } : { content: 'done' }));
    await h.worker('worker-g', { redaction: 'hash-only' }).start();
    const id = await submitTask(h.store, 'acme', { instruction: 'reverse her address' });
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);
    const [first, last] = ofType(events, 'InferenceCompleted');
    const r = (first.data as { responseRedacted: Redacted }).responseRedacted;
    // What a guesser builds from the event (the call's id and the tool's name are recorded, the length too) and a guessed argument.
    const guess = payloadDigest({ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'remote__reverse', arguments: JSON.stringify({ text: 'gina@example.com' }) } }] });
    expect(r.chars, 'the guess is the exact message').to.equal(guess.json.length);
    expect(r.toolCalls).to.deep.equal([{ id: 'c1', name: 'remote__reverse' }]);
    const log = JSON.stringify(await h.store.readAll({ limit: 10_000 }));
    expect(log, "the guessed turn's plain SHA-256").to.not.contain(guess.hash.slice(2));
    expect(log, "the plain SHA-256 of the guessed arguments (TaskStepStarted, ToolCallRequested)").to.not.contain(payloadDigest({ text: 'gina@example.com' }).hash.slice(2));

    expect([first.version, last.version]).to.deep.equal([8, 8]);
    expect(r).to.include({ hashScheme: PAYLOAD_HASH_SCHEME }).and.to.have.property('hashSaltSealed');
    // Checkable while the key lives: the key holder opens the salt and recomputes the hash.
    const salt = await openedSalt(h.subjectKeys, r.hashSaltSealed!, turnResponseAad(id, 0));
    expect(saltedPayloadHash(salt!, guess.json)).to.equal(r.hash);
    // Sealed under the submitter's key, where the task's tool calls are sealed: the subject index finds it.
    const [requested] = (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested' && (e.data as { taskId?: string }).taskId === id);
    const kid = (requested.data as { argumentsSaltSealed: SealedPayload }).argumentsSaltSealed.kid;
    expect(r.hashSaltSealed!.kid).to.equal(kid);
    expect(subjectRefs(first), 'one key seals both salts of the turn').to.deep.equal([`kid:${kid}`]);

    await h.subjectKeys!.erase(subjectOf('acme', user));
    expect(await openedSalt(h.subjectKeys, r.hashSaltSealed!, turnResponseAad(id, 0)), 'the salt is erased with the key').to.equal(undefined);
    expect(JSON.stringify(await h.store.readAll({ limit: 10_000 }))).to.not.contain(salt!.slice(2));
  });

  it("every turn's promptHash is salted (InferenceCompleted v8), its salt sealed alone under the submitter's key: no plain SHA-256 of a prompt sent for the task is in the log, and after erasure a guessed argument (with the instruction and the result guessed too) is not confirmable from the next turn's prompt", async () => {
    h.fake.setScript((req) => (toolMessages(req).length === 0 ? { toolCalls: [{ id: 'c1', name: 'remote__reverse', arguments: { text: 'gina@example.com' } }] } : { content: 'done' }));
    await h.worker('worker-p', { redaction: 'hash-only' }).start();
    const asked = h.fake.requests.length;
    const id = await submitTask(h.store, 'acme', { instruction: 'reverse her address' });
    const events = await waitForTask(h.store, id, ended);
    const turns = ofType(events, 'InferenceCompleted');
    // What a guesser rebuilds after the erasure: the prompt of a turn (system prompt and tools are the operator's, the
    // instruction guessed), with a guessed address as the call's argument and its reverse as the tool's result.
    const promptOf = (sent: (typeof h.fake.requests)[number], address = 'gina@example.com') => {
      const messages = JSON.parse(JSON.stringify(sent.messages).split('gina@example.com').join(address).split('moc.elpmaxe@anig').join([...address].reverse().join('')));
      const tools = sent.tools!.map((t) => ({ name: t.function.name, description: t.function.description, parameters: t.function.parameters }));
      return payloadDigest({ model: sent.model, messages, tools, temperature: sent.temperature, maxTokens: sent.max_tokens });
    };
    const sent = h.fake.requests.slice(asked, asked + 2);
    const log = JSON.stringify(await h.store.readAll({ limit: 10_000 }));
    for (const [n, e] of turns.entries()) {
      const d = e.data as { promptHash: string; promptHashScheme?: string; promptHashSaltSealed?: SealedPayload };
      const plain = promptOf(sent[n]);
      expect(log, `the plain SHA-256 of turn ${n}'s prompt`).to.not.contain(plain.hash.slice(2));
      expect(d).to.include({ promptHashScheme: PAYLOAD_HASH_SCHEME }).and.to.have.property('promptHashSaltSealed');
      // Checkable while the key lives: the key holder opens the salt and recomputes the hash over the prompt's canonical JSON.
      const salt = await openedSalt(h.subjectKeys, d.promptHashSaltSealed!, turnPromptAad(id, n));
      expect(saltedPayloadHash(salt!, plain.json), `turn ${n}`).to.equal(d.promptHash);
      expect(subjectRefs(e), 'in the subject index under its key').to.deep.equal([`kid:${d.promptHashSaltSealed!.kid}`]);
    }
    expect(turns.map((e) => e.version)).to.deep.equal([8, 8]);
    await h.subjectKeys!.erase(subjectOf('acme', user));
    const next = turns[1].data as { promptHash: string; promptHashSaltSealed: SealedPayload };
    expect(await openedSalt(h.subjectKeys, next.promptHashSaltSealed, turnPromptAad(id, 1)), 'the salt is erased with the key').to.equal(undefined);
    expect(promptOf(sent[1], 'tina@example.com').hash).to.not.equal(next.promptHash);
    expect(promptOf(sent[1]).hash, 'the right guess is not confirmed either').to.not.equal(next.promptHash);
  });

  it("the text a turn wrote beside its tool calls: its contentHash is salted with the turn's salt (v8 contentHashScheme), so after erasure a guess of it is not confirmable; a final turn's stays the plain SHA-256, the task's answerHash", async () => {
    const said = 'Looking up gina@example.com now';
    h.fake.setScript((req) => (toolMessages(req).length === 0 ? { content: said, toolCalls: [{ id: 'c1', name: 'remote__reverse', arguments: { text: 'x' } }] } : { content: 'done' }));
    await h.worker('worker-c', { redaction: 'hash-only' }).start();
    const id = await submitTask(h.store, 'acme', { instruction: 'reverse her address' });
    const events = await waitForTask(h.store, id, ended);
    const [first, last] = ofType(events, 'InferenceCompleted');
    const log = JSON.stringify(await h.store.readAll({ limit: 10_000 }));
    expect(log, "the plain SHA-256 of the turn's text").to.not.contain(payloadDigest(said).hash.slice(2));
    const r = (first.data as { responseRedacted: Redacted & { contentHashScheme?: string } }).responseRedacted;
    expect(r.contentHashScheme).to.equal(PAYLOAD_HASH_SCHEME);
    const salt = await openedSalt(h.subjectKeys, r.hashSaltSealed!, turnResponseAad(id, 0));
    expect(saltedPayloadHash(salt!, payloadDigest(said).json), "keyed by the turn's salt").to.equal(r.contentHash);
    // The final turn's text is the task's answer: its signed answerHash, which stays the plain SHA-256, and so does its contentHash.
    const f = (last.data as { responseRedacted: Redacted & { contentHashScheme?: string } }).responseRedacted;
    expect([f.contentHash, f.contentHashScheme]).to.deep.equal([payloadDigest('done').hash, undefined]);
    const [completed] = ofType(events, 'TaskCompleted');
    expect((completed.data as { output: { answerHash: string } }).output.answerHash).to.equal(payloadDigest('done').hash);
    await h.subjectKeys!.erase(subjectOf('acme', user));
    expect(await openedSalt(h.subjectKeys, r.hashSaltSealed!, turnResponseAad(id, 0))).to.equal(undefined);
  });

  it("the withheld texts of a model's slips (arguments that are not JSON, a tool name it made up): salted, the salt sealed alone in TaskStepFailed v2; after erasure not confirmable", async () => {
    const badArgs = '{"text": gina@example.com';
    const madeUp = 'lookup_gina@example.com';
    h.fake.setScript((req) =>
      toolMessages(req).length === 0
        ? { toolCalls: [{ id: 'c1', name: 'remote__reverse', arguments: badArgs }, { id: 'c2', name: madeUp, arguments: {} }] }
        : { content: 'done' },
    );
    await h.worker('worker-h', { redaction: 'hash-only' }).start();
    const id = await submitTask(h.store, 'acme', { instruction: 'look her up' });
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);
    const failed = ofType(events, 'TaskStepFailed');
    expect(failed.map((e) => [(e.data as { error: { code: string } }).error.code, e.version])).to.deep.equal([['TOOL_ARGUMENTS_INVALID', 2], ['MCP_TOOL_NOT_FOUND', 2]]);
    const log = JSON.stringify(await h.store.readAll({ limit: 10_000 }));
    for (const [e, text] of [[failed[0], badArgs], [failed[1], madeUp]] as const) {
      const d = e.data as { stepId: string; error: { message: string }; errorSaltSealed: SealedPayload };
      const m = /withheld \(LLM_REDACTION=hash-only\), hmac-sha256-salted-v1 (0x[0-9a-f]{64})/.exec(d.error.message);
      expect(m, d.error.message).to.not.equal(null);
      expect(log, 'the plain SHA-256 of the withheld text').to.not.contain(payloadDigest(text).hash.slice(2));
      const salt = await openedSalt(h.subjectKeys, d.errorSaltSealed, stepErrorAad(id, d.stepId));
      expect(saltedPayloadHash(salt!, payloadDigest(text).json)).to.equal(m![1]);
      expect(subjectRefs(e), 'in the subject index under its key').to.deep.equal([`kid:${d.errorSaltSealed.kid}`]);
    }
    expect(log).to.not.contain('gina@example.com');
    await h.subjectKeys!.erase(subjectOf('acme', user));
    for (const e of failed) {
      const d = e.data as { stepId: string; errorSaltSealed: SealedPayload };
      expect(await openedSalt(h.subjectKeys, d.errorSaltSealed, stepErrorAad(id, d.stepId))).to.equal(undefined);
    }
  });

  it("an LLM server's text withheld in TaskFailed: salted, the salt sealed alone in TaskFailed v2; after erasure not confirmable", async () => {
    const said = 'Bad request: unknown customer gina@example.com';
    // A server's own error message, which may echo the prompt (here a customer's address).
    h.fake.setScript(() => ({ status: 400, errorMessage: said }));
    await h.worker('worker-i', { redaction: 'hash-only' }).start();
    const id = await submitTask(h.store, 'acme', { instruction: 'look her up' });
    const events = await waitForTask(h.store, id, ended);
    const [failed] = ofType(events, 'TaskFailed');
    const d = failed.data as { error: { code: string; message: string }; errorSaltSealed: SealedPayload };
    const m = /withheld \(LLM_REDACTION=hash-only\), hmac-sha256-salted-v1 (0x[0-9a-f]{64})/.exec(d.error.message);
    expect(m, d.error.message).to.not.equal(null);
    const log = JSON.stringify(await h.store.readAll({ limit: 10_000 }));
    expect(log).to.not.contain('gina@example.com');
    expect(log, "the server text's plain SHA-256").to.not.contain(payloadDigest(said).hash.slice(2));
    expect(failed.version).to.equal(2);
    const salt = await openedSalt(h.subjectKeys, d.errorSaltSealed, taskErrorAad(id));
    expect(saltedPayloadHash(salt!, payloadDigest(said).json)).to.equal(m![1]);
    expect(subjectRefs(failed)).to.deep.equal([`kid:${d.errorSaltSealed.kid}`]);
    await h.subjectKeys!.erase(subjectOf('acme', user));
    expect(await openedSalt(h.subjectKeys, d.errorSaltSealed, taskErrorAad(id))).to.equal(undefined);
  });
});
