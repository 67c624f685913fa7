import { expect } from 'chai';
import fc from 'fast-check';
import { catalog } from '../../events';
import { canonicalJson } from '../../src/core/canonical';
import { createEvent, MAX_EVENT_BYTES, verifyEventHash } from '../../src/core/envelope';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { inferenceRecord, MESSAGES_JSON_MAX, RESPONSE_HEAD_CHARS } from '../../src/agent/runtime/inference-record';
import * as secp from '@noble/secp256k1';
import { toHex } from '../../src/core/hex';
import { openSealedAnswer, sealAnswer, type SealedAnswer } from '../../src/core/sealed-answer';
import { randomBytes } from 'node:crypto';
import { PAYLOAD_HASH_SCHEME } from '../../src/erasure/salted-hash';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { isRecordedResponse, sealTurnPrompt, sealTurnResponse } from '../../src/agent/runtime/turn-response-seal';
import { openedSalt } from '../../src/erasure/opened';
import { saltedPayloadHash } from '../../src/erasure/salted-hash';
import { turnPromptAad, turnResponseAad } from '../../src/erasure/sealed-payload';
import { subjectRefs } from '../../projections/subject-events.projection';
import { newId } from '../../src/core/ids';

const base = {
  turn: 0,
  provider: '127.0.0.1:1',
  model: 'm',
  promptHash: `0x${'a'.repeat(64)}`,
  redaction: 'store',
  finishReason: 'stop',
  usage: { promptTokens: 1, completionTokens: 2, totalTokens: 3 },
  latencyMs: 4,
  cached: false,
  knowledgeChunks: [],
  tools: ['examples__echo'],
};

/** One UTF-16 unit of each width that matters: ASCII, a character JSON escapes, three UTF-8 bytes, a surrogate pair (two units, four bytes). */
const unit = fc.constantFrom('a', '"', '\u0001', '€', '😀');

describe('inferenceRecord (what one model turn records)', () => {
  it('always makes a valid InferenceCompleted under MAX_EVENT_BYTES, keeps the response whenever it fits, else its digest, length and head (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 700_000 }), unit, fc.integer({ min: 0, max: 1_200_000 }), unit, fc.boolean(), (rn, ru, mn, mu, store) => {
        const message = { role: 'assistant', content: ru.repeat(rn) };
        const response = payloadDigest(message);
        const messagesJson = store ? payloadDigest([{ role: 'user', content: mu.repeat(mn) }]).json : undefined;
        const r = inferenceRecord({ base, response, messagesJson });
        const data = catalog.validate('InferenceCompleted', r.version, r.data);
        const e = createEvent({ type: 'InferenceCompleted', version: r.version, stream: 'task-1', tenant: 'acme', actor: { kind: 'agent', id: 'w' }, data });
        expect(Buffer.byteLength(canonicalJson(e))).to.be.at.most(MAX_EVENT_BYTES);
        expect(r.omitted).to.equal(r.version === 2);
        if (response.json.length <= 1_000_000) {
          // Under the character cap a response always fits once the messages are left out (3 bytes a unit at most, escaped).
          expect(r.omitted).to.equal(false);
          expect(r.data.responseJson).to.equal(response.json);
        } else {
          expect(r.omitted).to.equal(true);
        }
        if (r.omitted) {
          const o = r.data.responseOmitted as { hash: string; chars: number; head: string };
          expect(o.hash).to.equal(response.hash);
          expect(o.chars).to.equal(response.json.length);
          expect(response.json.startsWith(o.head)).to.equal(true);
          expect(o.head.length).to.be.within(RESPONSE_HEAD_CHARS - 1, RESPONSE_HEAD_CHARS);
        }
        // The messages are kept exactly when they fit beside the rest.
        if (!store || messagesJson!.length > MESSAGES_JSON_MAX) expect(r.data.messagesJson).to.equal(undefined);
        else if (r.data.messagesJson === undefined) expect(Buffer.byteLength(canonicalJson({ ...r.data, messagesJson })) + 64 * 1024).to.be.above(MAX_EVENT_BYTES);
        else expect(r.data.messagesJson).to.equal(messagesJson);
      }),
      { numRuns: 40 },
    );
  });

  it('an answer over 1,000,000 characters is omitted even when its bytes would fit', () => {
    const response = payloadDigest({ role: 'assistant', content: 'x'.repeat(1_000_001) });
    const r = inferenceRecord({ base, response });
    expect([r.version, r.omitted, r.data.responseJson]).to.deep.equal([2, true, undefined]);
  });

  it('never cuts a surrogate pair in the head', () => {
    const content = `${'x'.repeat(RESPONSE_HEAD_CHARS - '{"content":"'.length - 1)}${'😀'.repeat(600_000)}`;
    const response = payloadDigest({ content });
    const { head } = inferenceRecord({ base, response }).data.responseOmitted as { head: string };
    expect(head.length).to.equal(RESPONSE_HEAD_CHARS - 1);
    expect(Buffer.from(head, 'utf8').toString('utf8')).to.equal(head);
  });
});

describe('InferenceCompleted v2 beside v1 (the event versioning rules)', () => {
  const v1 = { ...base, responseJson: '{"content":"hi","role":"assistant"}' };

  it('a v1 event stays valid and reads as v2 (and on, v3 to v8) unchanged, its stored hash untouched', () => {
    const stored = createEvent({ type: 'InferenceCompleted', version: 1, stream: 'task-1', tenant: 'acme', actor: { kind: 'agent', id: 'w' }, data: catalog.validate('InferenceCompleted', 1, v1) });
    const read = catalog.upcast(stored);
    expect(read.version).to.equal(8);
    expect(read.data).to.deep.equal(v1);
    expect(catalog.validate('InferenceCompleted', 2, read.data)).to.deep.equal(v1);
    expect(verifyEventHash(stored)).to.equal(true);
    expect(read.hash).to.equal(stored.hash);
  });

  it('v1 still refuses a response over its cap; v2 takes exactly one of responseJson and responseOmitted', () => {
    expect(() => catalog.validate('InferenceCompleted', 1, { ...v1, responseJson: 'x'.repeat(1_000_001) })).to.throw(/responseJson/);
    const omitted = { hash: `0x${'b'.repeat(64)}`, chars: 2_000_000, head: 'x' };
    const { responseJson: _r, ...noResponse } = v1;
    expect(() => catalog.validate('InferenceCompleted', 2, noResponse)).to.throw(/exactly one of responseJson and responseOmitted/);
    expect(() => catalog.validate('InferenceCompleted', 2, { ...v1, responseOmitted: omitted })).to.throw(/exactly one/);
    expect(catalog.validate('InferenceCompleted', 2, { ...noResponse, responseOmitted: omitted })).to.deep.include({ responseOmitted: omitted });
    expect(() => catalog.validate('InferenceCompleted', 2, { ...noResponse, responseOmitted: { ...omitted, head: 'x'.repeat(10_001) } })).to.throw(/head/);
  });
});

describe('InferenceCompleted v3 beside v1 and v2 (a usage the gateway estimated)', () => {
  const estimated = { ...base, usage: { promptTokens: 40, completionTokens: 3, totalTokens: 43, estimated: true } };
  const actor = { kind: 'agent' as const, id: 'w' };

  it('is written only for a turn whose usage is estimated, kept whole or omitted', () => {
    const small = payloadDigest({ role: 'assistant', content: 'hi' });
    const large = payloadDigest({ role: 'assistant', content: 'x'.repeat(1_000_001) });
    expect(inferenceRecord({ base, response: small }).version).to.equal(1);
    const whole = inferenceRecord({ base: estimated, response: small });
    expect([whole.version, whole.omitted, whole.data.responseJson]).to.deep.equal([3, false, small.json]);
    const omitted = inferenceRecord({ base: estimated, response: large });
    expect([omitted.version, omitted.omitted, omitted.data.responseJson]).to.deep.equal([3, true, undefined]);
    for (const r of [whole, omitted]) expect(catalog.validate('InferenceCompleted', 3, r.data)).to.deep.equal(r.data);
  });

  it('v1 and v2 refuse `usage.estimated` (hence the new version); v3 takes only `true`; v1 and v2 events read as v3 (and on, v4 to v8) unchanged', () => {
    const data = { ...estimated, responseJson: '{"content":"hi","role":"assistant"}' };
    for (const v of [1, 2]) expect(() => catalog.validate('InferenceCompleted', v, data), `v${v}`).to.throw(/usage/);
    expect(() => catalog.validate('InferenceCompleted', 3, { ...data, usage: { ...data.usage, estimated: false } })).to.throw(/usage\.estimated/);
    const v1 = { ...base, responseJson: data.responseJson };
    const { responseJson: _r, ...noResponse } = v1;
    const v2 = { ...noResponse, responseOmitted: { hash: `0x${'b'.repeat(64)}`, chars: 2_000_000, head: 'x' } };
    for (const [version, d] of [[1, v1], [2, v2]] as const) {
      const stored = createEvent({ type: 'InferenceCompleted', version, stream: 'task-1', tenant: 'acme', actor, data: catalog.validate('InferenceCompleted', version, d) });
      const read = catalog.upcast(stored);
      expect([read.version, read.hash]).to.deep.equal([8, stored.hash]);
      expect(catalog.validate('InferenceCompleted', 3, read.data)).to.deep.equal(d);
      expect(catalog.validate('InferenceCompleted', 4, read.data)).to.deep.equal(d);
    }
  });
});

describe('InferenceCompleted v4: a turn under LLM_REDACTION=hash-only', () => {
  const hashOnly = { ...base, redaction: 'hash-only' };
  const actor = { kind: 'agent' as const, id: 'w' };
  const call = { id: 'c1', type: 'function', function: { name: 'crm__lookup', arguments: '{"customer":"secret-7"}' } };
  const message = { role: 'assistant', content: 'secret-6', tool_calls: [call] };
  const redacted = { contentHash: payloadDigest('secret-6').hash, toolCalls: [{ id: 'c1', name: 'crm__lookup' }] };

  it('records digests and metadata only: no response, no messages, no head, whatever the usage', () => {
    const response = payloadDigest(message);
    for (const b of [hashOnly, { ...hashOnly, usage: { ...hashOnly.usage, estimated: true } }]) {
      const r = inferenceRecord({ base: b, response, messagesJson: '[{"role":"user","content":"secret-5"}]', redacted });
      expect([r.version, r.omitted]).to.deep.equal([4, false]);
      expect(r.data.responseRedacted).to.deep.equal({ hash: response.hash, chars: response.json.length, ...redacted });
      expect(JSON.stringify(r.data)).to.not.match(/secret-/);
      expect(catalog.validate('InferenceCompleted', 4, r.data)).to.deep.equal(r.data);
    }
  });

  it('an answer over 1,000,000 characters is omitted all the same (the task fails alike), listing no calls and no characters of it', () => {
    const response = payloadDigest({ ...message, content: 'secret-'.repeat(200_000) });
    const r = inferenceRecord({ base: hashOnly, response, redacted });
    expect([r.version, r.omitted]).to.deep.equal([4, true]);
    expect((r.data.responseRedacted as { toolCalls: unknown[] }).toolCalls).to.deep.equal([]);
    expect(JSON.stringify(r.data)).to.not.match(/secret-/);
  });

  it('v4 takes exactly one of responseJson, responseOmitted and responseRedacted; v1 to v3 refuse responseRedacted; a v3 event reads as v4 (and on, v5 to v8) unchanged', () => {
    const response = payloadDigest(message);
    const data = inferenceRecord({ base: hashOnly, response, redacted }).data;
    expect(() => catalog.validate('InferenceCompleted', 4, { ...data, responseJson: response.json })).to.throw(/exactly one of responseJson, responseOmitted and responseRedacted/);
    const { responseRedacted: _r, ...none } = data;
    expect(() => catalog.validate('InferenceCompleted', 4, none)).to.throw(/exactly one/);
    for (const v of [1, 2, 3]) expect(() => catalog.validate('InferenceCompleted', v, data), `v${v}`).to.throw();
    expect(() => catalog.validate('InferenceCompleted', 4, { ...data, responseRedacted: { ...(data.responseRedacted as object), toolCalls: [{ id: 'c1', name: 'x', arguments: '{}' }] } })).to.throw();
    const v3 = { ...base, usage: { ...base.usage, estimated: true }, responseJson: response.json };
    const stored = createEvent({ type: 'InferenceCompleted', version: 3, stream: 'task-1', tenant: 'acme', actor, data: catalog.validate('InferenceCompleted', 3, v3) });
    const read = catalog.upcast(stored);
    expect([read.version, read.hash, read.data]).to.deep.equal([8, stored.hash, v3]);
  });
});

describe('InferenceCompleted v5: the final turn of a task with an answerRecipient keeps its answer sealed', () => {
  const hashOnly = { ...base, redaction: 'hash-only' };
  const actor = { kind: 'agent' as const, id: 'w' };
  const secret = secp.utils.randomSecretKey();
  const recipient = toHex(secp.getPublicKey(secret, true));
  const final = (content: string) => ({ response: payloadDigest({ role: 'assistant', content }), redacted: { contentHash: payloadDigest(content).hash, toolCalls: [] } });

  it('is written with the sealed copy (it opens to the answer, whose hash is contentHash), and no characters of the answer', () => {
    const { response, redacted } = final('secret-8 ✓');
    const sealedAnswer = sealAnswer('secret-8 ✓', recipient, 'task-1');
    const r = inferenceRecord({ base: hashOnly, response, redacted, sealedAnswer });
    expect([r.version, r.omitted]).to.deep.equal([5, false]);
    expect(r.data.sealedAnswer).to.deep.equal(sealedAnswer);
    expect(catalog.validate('InferenceCompleted', 5, r.data)).to.deep.equal(r.data);
    expect(openSealedAnswer(r.data.sealedAnswer as SealedAnswer, secret, { taskId: 'task-1', answerHash: redacted.contentHash })).to.equal('secret-8 ✓');
    expect(JSON.stringify(r.data)).to.not.match(/secret-/);
    // Without one (any other turn, or a task without a recipient): v4 as before.
    expect(inferenceRecord({ base: hashOnly, response, redacted }).version).to.equal(4);
  });

  it('a sealed copy the event cannot hold (about 2 MB of UTF-8: hex doubles it) is left out and the turn omitted, so the task fails; under 1,000,000 characters all the same', () => {
    const fitting = final('€'.repeat(400_000));
    const kept = inferenceRecord({ base: hashOnly, ...fitting, sealedAnswer: sealAnswer('€'.repeat(400_000), recipient, 'task-1') });
    expect([kept.version, kept.omitted]).to.deep.equal([5, false]);
    const e = createEvent({ type: 'InferenceCompleted', version: kept.version, stream: 'task-1', tenant: 'acme', actor, data: catalog.validate('InferenceCompleted', 5, kept.data) });
    expect(Buffer.byteLength(canonicalJson(e))).to.be.at.most(MAX_EVENT_BYTES);
    const big = final('€'.repeat(700_000));
    expect(big.response.json.length).to.be.below(1_000_000);
    const r = inferenceRecord({ base: hashOnly, ...big, sealedAnswer: sealAnswer('€'.repeat(700_000), recipient, 'task-1') });
    expect([r.version, r.omitted]).to.deep.equal([4, true]);
    expect(r.data).to.not.have.property('sealedAnswer');
  });

  it('v5 takes a sealed copy only beside responseRedacted of a final turn (no toolCalls); v1 to v4 refuse it; a v4 event reads as v5 (and on, v6 to v8) unchanged', () => {
    const { response, redacted } = final('secret-9');
    const sealedAnswer = sealAnswer('secret-9', recipient, 'task-1');
    const data = inferenceRecord({ base: hashOnly, response, redacted, sealedAnswer }).data;
    for (const v of [1, 2, 3, 4]) expect(() => catalog.validate('InferenceCompleted', v, data), `v${v}`).to.throw();
    expect(() => catalog.validate('InferenceCompleted', 5, { ...data, responseRedacted: { ...(data.responseRedacted as object), toolCalls: [{ id: 'c1' }] } })).to.throw(/sealedAnswer only beside responseRedacted, for a final turn/);
    const { responseRedacted: _r, sealedAnswer: _s, ...rest } = data;
    expect(() => catalog.validate('InferenceCompleted', 5, { ...rest, responseJson: response.json, sealedAnswer })).to.throw(/sealedAnswer only beside responseRedacted/);
    expect(() => catalog.validate('InferenceCompleted', 5, { ...data, sealedAnswer: { ...sealedAnswer, ciphertext: 'secret-9' } })).to.throw(/ciphertext/);
    const v4 = inferenceRecord({ base: hashOnly, response, redacted }).data;
    const stored = createEvent({ type: 'InferenceCompleted', version: 4, stream: 'task-1', tenant: 'acme', actor, data: catalog.validate('InferenceCompleted', 4, v4) });
    const read = catalog.upcast(stored);
    expect([read.version, read.hash, read.data]).to.deep.equal([8, stored.hash, v4]);
  });
});

describe('InferenceCompleted v6: a turn recorded before its tokens could be booked', () => {
  const actor = { kind: 'agent' as const, id: 'w' };
  const message = { role: 'assistant', content: 'done' };

  it('is v6 with usageUnbooked, whatever else it holds (whole, estimated, redacted, omitted); without it, as before', () => {
    const response = payloadDigest(message);
    const unbooked = { ...base, usageUnbooked: true };
    const whole = inferenceRecord({ base: unbooked, response, messagesJson: '[]' });
    expect([whole.version, whole.omitted, whole.data.usageUnbooked, whole.data.responseJson]).to.deep.equal([6, false, true, response.json]);
    expect(catalog.validate('InferenceCompleted', 6, whole.data)).to.deep.equal(whole.data);
    const estimated = inferenceRecord({ base: { ...unbooked, usage: { ...base.usage, estimated: true } }, response });
    expect(estimated.version).to.equal(6);
    catalog.validate('InferenceCompleted', 6, estimated.data);
    const redacted = inferenceRecord({ base: { ...unbooked, redaction: 'hash-only' }, response, redacted: { contentHash: payloadDigest('done').hash, toolCalls: [] } });
    expect(redacted.version).to.equal(6);
    catalog.validate('InferenceCompleted', 6, redacted.data);
    const big = payloadDigest({ role: 'assistant', content: 'x'.repeat(1_000_001) });
    const omitted = inferenceRecord({ base: unbooked, response: big });
    expect([omitted.version, omitted.omitted]).to.deep.equal([6, true]);
    catalog.validate('InferenceCompleted', 6, omitted.data);
    expect(inferenceRecord({ base, response }).version, 'booked: v1 as always').to.equal(1);
  });

  it('v6 takes only `usageUnbooked: true`; v1 to v5 refuse it; a v5 event reads as v6 (and on, v7 and v8) unchanged', () => {
    const response = payloadDigest(message);
    const data = inferenceRecord({ base: { ...base, usageUnbooked: true }, response }).data;
    for (const v of [1, 2, 3, 4, 5]) expect(() => catalog.validate('InferenceCompleted', v, data), `v${v}`).to.throw();
    expect(() => catalog.validate('InferenceCompleted', 6, { ...data, usageUnbooked: false })).to.throw();
    const v1 = inferenceRecord({ base, response }).data;
    const stored = createEvent({ type: 'InferenceCompleted', version: 5, stream: 'task-1', tenant: 'acme', actor, data: catalog.validate('InferenceCompleted', 5, v1) });
    const read = catalog.upcast(stored);
    expect([read.version, read.hash, read.data]).to.deep.equal([8, stored.hash, v1]);
  });
});

describe('InferenceCompleted v7: a redacted turn whose hash is salted (MCP_PAYLOAD_POLICY=encrypted)', () => {
  const actor = { kind: 'agent' as const, id: 'w' };
  const hashOnly = { ...base, redaction: 'hash-only' };
  const message = { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'crm__lookup', arguments: '{"email":"kim@example.com"}' } }] };
  const redacted = { contentHash: payloadDigest('').hash, toolCalls: [{ id: 'c1', name: 'crm__lookup' }] };
  const key = { kid: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', key: randomBytes(32) };

  it('is v7 with the salted hash, its scheme and its salt sealed alone, whatever else it holds (v5 sealed answer, v6 unbooked); the plain SHA-256 is not in it', () => {
    const response = payloadDigest(message);
    const responseSeal = sealTurnResponse(key, 'task-1', 0, response.json);
    for (const b of [hashOnly, { ...hashOnly, usageUnbooked: true }]) {
      const r = inferenceRecord({ base: b, response, redacted, responseSeal });
      expect([r.version, r.omitted]).to.deep.equal([7, false]);
      expect(r.data.responseRedacted).to.deep.equal({ hash: responseSeal.hash, hashScheme: PAYLOAD_HASH_SCHEME, hashSaltSealed: responseSeal.saltSealed, chars: response.json.length, ...redacted });
      expect(catalog.validate('InferenceCompleted', 7, r.data)).to.deep.equal(r.data);
      for (const v of [4, 5, 6]) expect(() => catalog.validate('InferenceCompleted', v, r.data), `v${v}`).to.throw();
      expect(JSON.stringify(r.data)).to.not.contain(response.hash.slice(2)).and.not.contain('kim@');
    }
    const final = payloadDigest({ role: 'assistant', content: 'secret-7' });
    const sealedAnswer = sealAnswer('secret-7', toHex(secp.getPublicKey(secp.utils.randomSecretKey(), true)), 'task-1');
    const r = inferenceRecord({ base: hashOnly, response: final, redacted: { contentHash: payloadDigest('secret-7').hash, toolCalls: [] }, sealedAnswer, responseSeal: sealTurnResponse(key, 'task-1', 1, final.json) });
    expect(r.version).to.equal(7);
    expect(catalog.validate('InferenceCompleted', 7, r.data)).to.have.property('sealedAnswer');
    // Not redacted (LLM_REDACTION=store): the response is in the log whole, nothing to salt; as before.
    expect(inferenceRecord({ base, response, responseSeal }).version).to.equal(1);
  });

  it('v7 takes a scheme only with its sealed salt, and a salt only with its scheme; a v6 event reads as v7 (and v8) unchanged', () => {
    const response = payloadDigest(message);
    const data = inferenceRecord({ base: hashOnly, response, redacted, responseSeal: sealTurnResponse(key, 'task-1', 0, response.json) }).data;
    const { hashScheme: _s, ...noScheme } = data.responseRedacted as Record<string, unknown>;
    const { hashSaltSealed: _h, ...noSalt } = data.responseRedacted as Record<string, unknown>;
    expect(() => catalog.validate('InferenceCompleted', 7, { ...data, responseRedacted: noScheme })).to.throw(/hashSaltSealed/);
    expect(() => catalog.validate('InferenceCompleted', 7, { ...data, responseRedacted: noSalt })).to.throw(/hashSaltSealed/);
    const v6 = inferenceRecord({ base: { ...hashOnly, usageUnbooked: true }, response, redacted }).data;
    const stored = createEvent({ type: 'InferenceCompleted', version: 6, stream: 'task-1', tenant: 'acme', actor, data: catalog.validate('InferenceCompleted', 6, v6) });
    const read = catalog.upcast(stored);
    expect([read.version, read.hash, read.data]).to.deep.equal([8, stored.hash, v6]);
  });

  it('isRecordedResponse: a message is the recorded one exactly when its salted hash matches under the opened salt; none once the key is erased (property)', async () => {
    const keys = new MemorySubjectKeyStore();
    const k = await keys.keyFor('acme:user:kim');
    await fc.assert(
      fc.asyncProperty(fc.string({ unit }), fc.string({ unit }), fc.nat(50), async (a, b, turn) => {
        const recorded = payloadDigest({ role: 'assistant', content: a });
        const other = payloadDigest({ role: 'assistant', content: b });
        const seal = sealTurnResponse(k, 'task-1', turn, recorded.json);
        const r = { hash: seal.hash, hashScheme: seal.scheme, hashSaltSealed: seal.saltSealed, chars: recorded.json.length, contentHash: payloadDigest(a).hash, toolCalls: [] };
        expect(await isRecordedResponse(keys, 'task-1', turn, r, recorded)).to.equal(true);
        expect(await isRecordedResponse(keys, 'task-1', turn, r, other)).to.equal(a === b);
        // Bound to its place: another turn's or task's salt does not open.
        expect(await isRecordedResponse(keys, 'task-1', turn + 1, r, recorded)).to.equal(false);
        expect(await isRecordedResponse(keys, 'task-2', turn, r, recorded)).to.equal(false);
        // A plain (v4 to v6) hash is compared as it is.
        expect(await isRecordedResponse(undefined, 'task-1', turn, { ...r, hash: recorded.hash, hashScheme: undefined, hashSaltSealed: undefined }, recorded)).to.equal(true);
      }),
      { numRuns: 50 },
    );
    const recorded = payloadDigest(message);
    const seal = sealTurnResponse(k, 'task-1', 0, recorded.json);
    const r = { hash: seal.hash, hashScheme: seal.scheme, hashSaltSealed: seal.saltSealed, chars: recorded.json.length, ...redacted };
    await keys.erase('acme:user:kim');
    expect(await isRecordedResponse(keys, 'task-1', 0, r, recorded)).to.equal(false);
  });
});

describe('InferenceCompleted v8: a redacted turn whose promptHash is salted too (MCP_PAYLOAD_POLICY=encrypted)', () => {
  const actor = { kind: 'agent' as const, id: 'w' };
  const hashOnly = { ...base, redaction: 'hash-only' };
  const message = { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'crm__lookup', arguments: '{"email":"kim@example.com"}' } }] };
  const redacted = { contentHash: payloadDigest('').hash, toolCalls: [{ id: 'c1', name: 'crm__lookup' }] };
  const prompt = payloadDigest({ model: 'm', messages: [{ role: 'user', content: 'look up kim@example.com' }], tools: [], temperature: 0, maxTokens: 100 });

  it('is v8 with the salted promptHash, its scheme and its salt sealed alone beside the salted response hash, whatever else it holds; the plain SHA-256 of the prompt is not in it', async () => {
    const keys = new MemorySubjectKeyStore();
    const key = await keys.keyFor('acme:user:kim');
    const response = payloadDigest(message);
    const responseSeal = sealTurnResponse(key, 'task-1', 0, response.json);
    const promptSeal = sealTurnPrompt(key, 'task-1', 0, prompt.json);
    for (const b of [hashOnly, { ...hashOnly, usageUnbooked: true }]) {
      const r = inferenceRecord({ base: { ...b, promptHash: prompt.hash }, response, redacted, responseSeal, promptSeal });
      expect([r.version, r.omitted]).to.deep.equal([8, false]);
      expect(r.data).to.deep.include({ promptHash: promptSeal.hash, promptHashScheme: PAYLOAD_HASH_SCHEME, promptHashSaltSealed: promptSeal.saltSealed });
      expect(catalog.validate('InferenceCompleted', 8, r.data)).to.deep.equal(r.data);
      for (const v of [4, 5, 6, 7]) expect(() => catalog.validate('InferenceCompleted', v, r.data), `v${v}`).to.throw();
      expect(JSON.stringify(r.data)).to.not.contain(prompt.hash.slice(2)).and.not.contain(response.hash.slice(2));
    }
    // Checkable while the key lives; bound to its place (another turn's salt does not open), erased with the key.
    const salt = await openedSalt(keys, promptSeal.saltSealed, turnPromptAad('task-1', 0));
    expect(saltedPayloadHash(salt!, prompt.json)).to.equal(promptSeal.hash);
    expect(await openedSalt(keys, promptSeal.saltSealed, turnPromptAad('task-1', 1))).to.equal(undefined);
    expect(await openedSalt(keys, responseSeal.saltSealed, turnPromptAad('task-1', 0)), "the response's salt is not the prompt's").to.equal(undefined);
    await keys.erase('acme:user:kim');
    expect(await openedSalt(keys, promptSeal.saltSealed, turnPromptAad('task-1', 0))).to.equal(undefined);
    // A sealed final answer (v5) too.
    const final = payloadDigest({ role: 'assistant', content: 'secret-8' });
    const sealedAnswer = sealAnswer('secret-8', toHex(secp.getPublicKey(secp.utils.randomSecretKey(), true)), 'task-1');
    const k2 = { kid: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', key: randomBytes(32) };
    const r = inferenceRecord({ base: hashOnly, response: final, redacted: { contentHash: payloadDigest('secret-8').hash, toolCalls: [] }, sealedAnswer, responseSeal: sealTurnResponse(k2, 'task-1', 1, final.json), promptSeal: sealTurnPrompt(k2, 'task-1', 1, prompt.json) });
    expect(r.version).to.equal(8);
    expect(catalog.validate('InferenceCompleted', 8, r.data)).to.have.property('sealedAnswer');
    // Not redacted (LLM_REDACTION=store): as before, the plain promptHash (v1).
    const stored = inferenceRecord({ base, response, promptSeal });
    expect([stored.version, stored.data.promptHash, stored.data.promptHashScheme]).to.deep.equal([1, base.promptHash, undefined]);
  });

  it("a turn that called tools: its contentHash salted with the turn's own salt (contentHashScheme), checkable with hashSaltSealed; a final turn's stays plain", async () => {
    const keys = new MemorySubjectKeyStore();
    const key = await keys.keyFor('acme:user:kim');
    const talk = { ...message, content: 'checking kim@example.com' };
    const response = payloadDigest(talk);
    const text = payloadDigest('checking kim@example.com');
    const responseSeal = sealTurnResponse(key, 'task-1', 0, response.json, text.json);
    const r = inferenceRecord({ base: hashOnly, response, redacted: { contentHash: text.hash, toolCalls: redacted.toolCalls }, responseSeal, promptSeal: sealTurnPrompt(key, 'task-1', 0, prompt.json) });
    expect(r.version).to.equal(8);
    const rr = r.data.responseRedacted as { contentHash: string; contentHashScheme?: string; hashSaltSealed: never };
    expect(rr.contentHashScheme).to.equal(PAYLOAD_HASH_SCHEME);
    const salt = await openedSalt(keys, rr.hashSaltSealed, turnResponseAad('task-1', 0));
    expect(saltedPayloadHash(salt!, text.json)).to.equal(rr.contentHash);
    expect(saltedPayloadHash(salt!, response.json)).to.equal(responseSeal.hash);
    expect(catalog.validate('InferenceCompleted', 8, r.data)).to.deep.equal(r.data);
    expect(JSON.stringify(r.data)).to.not.contain(text.hash.slice(2));
    // Only beside a salted hash: the salt it is keyed by.
    const { hashScheme: _s, hashSaltSealed: _h, ...plainHash } = r.data.responseRedacted as Record<string, unknown>;
    expect(() => catalog.validate('InferenceCompleted', 8, { ...r.data, responseRedacted: { ...plainHash, hash: response.hash } })).to.throw(/contentHashScheme/);
    expect(() => catalog.validate('InferenceCompleted', 7, r.data)).to.throw();
    // A final turn (no tool calls): its text is the task's answer, answerHash, plain.
    const final = payloadDigest({ role: 'assistant', content: 'done' });
    const f = inferenceRecord({ base: hashOnly, response: final, redacted: { contentHash: payloadDigest('done').hash, toolCalls: [] }, responseSeal: sealTurnResponse(key, 'task-1', 1, final.json), promptSeal: sealTurnPrompt(key, 'task-1', 1, prompt.json) });
    expect((f.data.responseRedacted as { contentHash: string; contentHashScheme?: string })).to.deep.include({ contentHash: payloadDigest('done').hash }).and.not.have.property('contentHashScheme');
  });

  it("is found in the subject index under the key of each of its salts, the prompt's (promptHashSaltSealed) as the answer's", () => {
    const [k1, k2] = [newId(), newId()].map((kid) => ({ kid, key: randomBytes(32) }));
    const response = payloadDigest(message);
    const data = inferenceRecord({ base: hashOnly, response, redacted, responseSeal: sealTurnResponse(k1, 'task-1', 0, response.json), promptSeal: sealTurnPrompt(k2, 'task-1', 0, prompt.json) }).data;
    expect(subjectRefs({ type: 'InferenceCompleted', version: 8, data: catalog.validate('InferenceCompleted', 8, data) })).to.have.members([`kid:${k1.kid}`, `kid:${k2.kid}`]);
  });

  it('v8 takes a scheme only with its sealed salt, and a salt only with its scheme, and only on a redacted turn; a v7 event reads as v8 unchanged', () => {
    const k = { kid: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', key: randomBytes(32) };
    const response = payloadDigest(message);
    const data = inferenceRecord({ base: hashOnly, response, redacted, responseSeal: sealTurnResponse(k, 'task-1', 0, response.json), promptSeal: sealTurnPrompt(k, 'task-1', 0, prompt.json) }).data;
    const { promptHashScheme: _s, ...noScheme } = data;
    const { promptHashSaltSealed: _h, ...noSalt } = data;
    expect(() => catalog.validate('InferenceCompleted', 8, noScheme)).to.throw(/promptHashSaltSealed/);
    expect(() => catalog.validate('InferenceCompleted', 8, noSalt)).to.throw(/promptHashSaltSealed/);
    const { responseRedacted: _r, ...notRedacted } = data;
    expect(() => catalog.validate('InferenceCompleted', 8, { ...notRedacted, responseJson: response.json })).to.throw(/promptHashScheme/);
    const v7 = inferenceRecord({ base: hashOnly, response, redacted, responseSeal: sealTurnResponse(k, 'task-1', 0, response.json) });
    expect(v7.version).to.equal(7);
    const stored = createEvent({ type: 'InferenceCompleted', version: 7, stream: 'task-1', tenant: 'acme', actor, data: catalog.validate('InferenceCompleted', 7, v7.data) });
    const read = catalog.upcast(stored);
    expect([read.version, read.hash, read.data]).to.deep.equal([8, stored.hash, v7.data]);
  });
});
