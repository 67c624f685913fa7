import { expect } from 'chai';
import type { RecordedEvent } from '../../src/core/envelope';
import { toolMessages } from '../support/openai-fake/openai-fake';
import { recordedText, gatewayHarnessForFile, type GatewayHarness } from './support/gateway-harness';
import { ended, ofType, submitTask, user, waitForTask } from './support/agent-fixture';
import { subjectOf } from '../../src/erasure/subject';
import { PAYLOAD_HASH_SCHEME, saltedPayloadHash } from '../../src/erasure/salted-hash';
import { openedPayload, openedSalt } from '../../src/erasure/opened';
import { payloadAad, type SealedPayload } from '../../src/erasure/sealed-payload';
import { sha256Utf8Hex } from '../../src/core/hash';
import { payloadDigest } from '../../src/mcp/payload-hash';



describe('MCP_PAYLOAD_POLICY=encrypted in the agent runtime: task events keep hashes, the gateway events keep the payloads sealed', function () {
  this.timeout(60_000);
  let h: GatewayHarness;
  gatewayHarnessForFile('encrypted', (x) => (h = x));

  it('records no argument or result text in the log; the model is told them all the same', async () => {
    h.fake.setScript((req) => (toolMessages(req).length === 0 ? { toolCalls: [{ id: 'c1', name: 'remote__reverse', arguments: { text: 'bravo-hidden' } }] } : { content: 'done' }));
    await h.worker('worker-a').start();
    const id = await submitTask(h.store, 'acme', { steps: [{ tool: 'remote__reverse', arguments: { text: 'alpha-hidden' } }], instruction: 'reverse some text' });
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);

    const all = await h.store.readAll({ limit: 10_000 });
    const text = recordedText(all);
    for (const payload of ['alpha-hidden', 'neddih-ahpla', 'bravo-hidden', 'neddih-ovarb']) expect(text).to.not.contain(payload);
    for (const e of ofType(events, 'TaskStepStarted')) expect(e.data).to.have.property('argumentsHash').and.not.to.have.property('argumentsJson');
    for (const e of ofType(events, 'TaskStepCompleted')) expect(e.data).to.have.property('resultHash').and.not.to.have.property('resultJson');
    const requested = all.filter((e) => e.type === 'ToolCallRequested');
    expect(requested).to.have.length(2);
    for (const e of requested) expect(e.data).to.include({ payloadPolicy: 'encrypted' }).and.to.have.property('argumentsSealed');
    for (const e of all.filter((x) => x.type === 'ToolCallCompleted')) expect(e.data).to.have.property('resultSealed');

    expect(String(h.fake.requests.at(-2)?.messages.find((m) => m.role === 'user')?.content)).to.contain('neddih-ahpla');
    expect(toolMessages(h.fake.requests.at(-1)!)[0]).to.equal('neddih-ovarb');
  });

  it("the task's step events and signed output keep the salted hashes of the gateway's events, erased with the submitter's key: no plain SHA-256 of a payload is left to confirm a guess", async () => {
    await h.worker('worker-d').start();
    const id = await submitTask(h.store, 'acme', { steps: [{ tool: 'remote__reverse', arguments: { text: 'dave@example.com' } }] });
    const events = await waitForTask(h.store, id, ended);
    const calls = (await h.store.readAll({ limit: 10_000 })).filter((e) => (e.data as { taskId?: string }).taskId === id);
    const [requested] = ofType(calls, 'ToolCallRequested');
    const [completed] = ofType(calls, 'ToolCallCompleted');
    const [started] = ofType(events, 'TaskStepStarted');
    const [stepDone] = ofType(events, 'TaskStepCompleted');
    // v5: v3's sealed arguments and the step the call is made for (stepId).
    expect([requested.version, completed.version, started.version, stepDone.version]).to.deep.equal([5, 3, 2, 2]);
    expect((requested.data as { stepId?: string }).stepId).to.equal((started.data as { stepId: string }).stepId);
    expect(started.data).to.include({ argumentsHashScheme: PAYLOAD_HASH_SCHEME, argumentsHash: (requested.data as { argumentsHash: string }).argumentsHash });
    expect(stepDone.data).to.include({ resultHashScheme: PAYLOAD_HASH_SCHEME, resultHash: (completed.data as { resultHash: string }).resultHash });
    const output = (ofType(events, 'TaskCompleted')[0].data as { output: { steps: Record<string, unknown>[] } }).output;
    expect(output.steps[0]).to.include({ resultHash: (completed.data as { resultHash: string }).resultHash, resultHashScheme: PAYLOAD_HASH_SCHEME });
    // The exact guesses of the arguments and of the result (opened here with the key, as a guesser would have it exactly):
    // neither's SHA-256 is anywhere in the log; the salts inside the seals give the hashes recorded.
    const result = await openedPayload(h.subjectKeys, (completed.data as { resultSealed: SealedPayload }).resultSealed, payloadAad(completed.stream.slice('toolcall-'.length), 'result'));
    expect(result?.json).to.contain('moc.elpmaxe@evad');
    expect(saltedPayloadHash(result!.salt!, result!.json)).to.equal((stepDone.data as { resultHash: string }).resultHash);
    const log = JSON.stringify([...events, ...calls]);
    expect(log).to.not.contain(payloadDigest({ text: 'dave@example.com' }).hash.slice(2));
    expect(log).to.not.contain(sha256Utf8Hex(result!.json).slice(2));
  });

  it("a model's arguments under LLM_REDACTION=hash-only are kept by a salted hash whose salt alone the gateway seals: no plain SHA-256 of them in the log", async () => {
    h.fake.setScript((req) => (toolMessages(req).length === 0 ? { toolCalls: [{ id: 'c1', name: 'remote__reverse', arguments: { text: 'erin@example.com' } }] } : { content: 'done' }));
    await h.worker('worker-e', { redaction: 'hash-only' }).start();
    const id = await submitTask(h.store, 'acme', { instruction: 'reverse her address' });
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);
    const calls = (await h.store.readAll({ limit: 10_000 })).filter((e) => (e.data as { taskId?: string }).taskId === id);
    const [requested] = ofType(calls, 'ToolCallRequested');
    const [started] = ofType(events, 'TaskStepStarted');
    // v5: v4's salt sealed alone and the step the call is made for (stepId).
    expect([requested.version, started.version]).to.deep.equal([5, 2]);
    expect(requested.data).to.have.property('argumentsSaltSealed');
    expect(requested.data).to.include({ argumentsHashScheme: PAYLOAD_HASH_SCHEME }).and.to.have.property('argumentsSaltSealed');
    expect(requested.data).to.not.have.any.keys('argumentsSealed', 'argumentsJson');
    expect(started.data).to.include({ argumentsHashScheme: PAYLOAD_HASH_SCHEME, argumentsHash: (requested.data as { argumentsHash: string }).argumentsHash });
    const salt = await openedSalt(h.subjectKeys, (requested.data as { argumentsSaltSealed: SealedPayload }).argumentsSaltSealed, payloadAad(requested.stream.slice('toolcall-'.length), 'arguments'));
    const guess = payloadDigest({ text: 'erin@example.com' });
    expect(saltedPayloadHash(salt!, guess.json)).to.equal((started.data as { argumentsHash: string }).argumentsHash);
    const log = JSON.stringify(await h.store.readAll({ limit: 10_000 }));
    expect(log).to.not.contain(guess.hash.slice(2));
    expect(log).to.not.contain('erin@example.com');
  });

  it("an explicit step's error result or upstream error fails the task without its text, saying encrypted withheld it (not hash-only)", async () => {
    await h.worker('worker-c').start();
    const failing = await submitTask(h.store, 'acme', { steps: [{ tool: 'remote__fail', arguments: { message: 'golf-hidden' } }] });
    const rejected = await submitTask(h.store, 'acme', { steps: [{ tool: 'remote__reject', arguments: { message: 'hotel-hidden' } }] });
    const [a, b] = await Promise.all([waitForTask(h.store, failing, ended), waitForTask(h.store, rejected, ended)]);
    const errorOf = (es: RecordedEvent[], type: string) => (ofType(es, type)[0]?.data as { error: { code: string; message: string } }).error;
    expect(errorOf(a, 'TaskFailed').message).to.match(/^step 0 \(remote__fail\) returned an error \(its text withheld: MCP_PAYLOAD_POLICY=encrypted, under which the task's events keep hashes only; result hmac-sha256-salted-v1 0x[0-9a-f]{64}\)$/);
    const stepFailed = errorOf(b, 'TaskStepFailed');
    expect(stepFailed.code).to.equal('MCP_UPSTREAM_ERROR');
    expect(stepFailed.message).to.match(/^-32602: upstream error message withheld \(MCP_PAYLOAD_POLICY=encrypted: error texts are not recorded\), hmac-sha256-salted-v1 0x[0-9a-f]{64}$/);
    expect(errorOf(b, 'TaskFailed').message).to.equal(`step 0 (remote__reject): ${stepFailed.message}`);
    // The same words as the gateway's own ToolCallFailed for that call.
    const call = (await h.store.readAll({ limit: 10_000 })).find((e) => e.type === 'ToolCallFailed' && e.correlationId === b[0].correlationId);
    expect((call?.data as { error: { message: string } } | undefined)?.error.message).to.equal(stepFailed.message);
    expect(recordedText(a)).to.not.contain('golf-hidden');
    expect(recordedText(b)).to.not.contain('hotel-hidden');
  });

  it('a step that fails before the gateway records a call (no such tool) keeps no digest: no ToolCallFailed seals a salt for it, and a plain SHA-256 would confirm a guess', async () => {
    // It was: `hmac-sha256-salted-v1 <hash>` keyed by the runtime's salt, which nothing ever sealed, so no one could check it.
    await h.worker('worker-f').start();
    const id = await submitTask(h.store, 'acme', { steps: [{ tool: 'remote__nope', arguments: { text: 'india-hidden' } }] });
    const events = await waitForTask(h.store, id, ended);
    const stepFailed = (ofType(events, 'TaskStepFailed')[0]?.data as { error: { code: string; message: string } }).error;
    expect(stepFailed.code).to.equal('MCP_TOOL_NOT_FOUND');
    expect(stepFailed.message).to.match(/message withheld \(MCP_PAYLOAD_POLICY=encrypted: error texts are not recorded\)$/);
    expect((await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested' && (e.data as { taskId?: string }).taskId === id)).to.have.length(0);
  });

  it("seals a task's tool calls under its submitter's key (the data subject), not the worker's: erasing the submitter makes them unreadable", async () => {
    await h.worker('worker-b').start();
    const id = await submitTask(h.store, 'acme', { steps: [{ tool: 'remote__reverse', arguments: { text: 'charlie-hidden' } }] });
    expect(ofType(await waitForTask(h.store, id, ended), 'TaskCompleted')).to.have.length(1);
    const calls = (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ToolCallRequested' && (e.data as { taskId?: string }).taskId === id);
    expect(calls).to.have.length(1);
    // The call is the agent's (its actor), its payloads the submitter's.
    expect(calls[0].actor.kind).to.equal('agent');
    const kid = (calls[0].data as { argumentsSealed: { kid: string } }).argumentsSealed.kid;
    const erased = await h.subjectKeys!.erase(subjectOf('acme', user));
    expect(erased.erased).to.deep.equal([kid]);
  });
});
