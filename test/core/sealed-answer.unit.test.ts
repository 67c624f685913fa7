import { expect } from 'chai';
import fc from 'fast-check';
import * as secp from '@noble/secp256k1';
import { fromHex, toHex, type Hex } from '../../src/core/hex';
import { openSealedAnswer, recipientPublicKey, sealAnswer, SealedAnswerError, type SealedAnswer } from '../../src/core/sealed-answer';
import { payloadDigest } from '../../src/mcp/payload-hash';
import vectors from '../vectors/sealed-answer.json';
import { TaskView } from '../../src/api/schemas/tasks';
import { readTaskAnswer } from '../../src/sdk/task-answer';

const TASK = vectors.taskId;
const KEY = vectors.recipientPrivateKey as Hex;
const RECIPIENT = vectors.cases[0].sealedAnswer.recipient as Hex;

function failure(fn: () => unknown): SealedAnswerError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(SealedAnswerError);
    return err as SealedAnswerError;
  }
  throw new Error('expected a SealedAnswerError');
}

describe('sealed answers (ECIES secp256k1, HKDF-SHA256, AES-256-GCM)', () => {
  describe('test vectors (test/vectors/sealed-answer.json, computed by Python cryptography from the docs)', () => {
    for (const c of vectors.cases) {
      it(`seals ${JSON.stringify(c.answer).slice(0, 30)} byte for byte, and opens it`, () => {
        const sealed = sealAnswer(c.answer, RECIPIENT, TASK, { ephemeralSecretKey: fromHex(c.ephemeralPrivateKey, 32), nonce: fromHex(c.sealedAnswer.nonce, 12) });
        expect(sealed).to.deep.equal(c.sealedAnswer);
        expect(c.answerHash, 'the plaintext is what answerHash hashes').to.equal(payloadDigest(c.answer).hash);
        expect(openSealedAnswer(c.sealedAnswer as SealedAnswer, KEY, { taskId: TASK, answerHash: c.answerHash })).to.equal(c.answer);
      });
    }

    it('the recipient key, given uncompressed or in capitals, is recorded compressed in lowercase', () => {
      expect(recipientPublicKey(vectors.recipientPublicKeyUncompressed)).to.equal(RECIPIENT);
      expect(recipientPublicKey(`0x${RECIPIENT.slice(2).toUpperCase()}`)).to.equal(RECIPIENT);
      expect(() => recipientPublicKey(KEY)).to.throw(TypeError, /public key/);
      expect(() => recipientPublicKey(`0x02${'ff'.repeat(32)}`)).to.throw(TypeError, /not a point/);
      expect(() => recipientPublicKey(`0x04${'00'.repeat(64)}`)).to.throw(TypeError, /not a point/);
    });
  });

  it('round-trips any answer (any UTF-16, lone surrogates too), its plaintext hashing to answerHash (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (answer) => {
        const sealed = sealAnswer(answer, RECIPIENT, TASK);
        expect(openSealedAnswer(sealed, KEY, { taskId: TASK, answerHash: payloadDigest(answer).hash })).to.equal(answer);
      }),
      // Each run costs four scalar multiplications in pure JS: enough runs for the text's encodings, no more.
      { numRuns: 40 },
    );
  });

  it('each seal draws a fresh ephemeral key and nonce', () => {
    const a = sealAnswer('same', RECIPIENT, TASK);
    const b = sealAnswer('same', RECIPIENT, TASK);
    expect(a.ephemeralPublicKey).to.not.equal(b.ephemeralPublicKey);
    expect(a.nonce).to.not.equal(b.nonce);
  });

  describe('what does not open, with a clear error', () => {
    const sealed = vectors.cases[0].sealedAnswer as SealedAnswer;
    const o = { taskId: TASK, answerHash: vectors.cases[0].answerHash };

    it('another private key: SEALED_ANSWER_WRONG_KEY naming both public keys', () => {
      const other = toHex(secp.utils.randomSecretKey());
      const err = failure(() => openSealedAnswer(sealed, other, o));
      expect(err.code).to.equal('SEALED_ANSWER_WRONG_KEY');
      expect(err.message).to.contain(RECIPIENT).and.contain(toHex(secp.getPublicKey(fromHex(other), true)));
    });

    it('a key that is no private key: SEALED_ANSWER_KEY_INVALID (and never echoed)', () => {
      for (const bad of ['', 'not a key', '0x1234', `0x${'00'.repeat(32)}`, `0x${'ff'.repeat(32)}`]) {
        const err = failure(() => openSealedAnswer(sealed, bad, o));
        expect(err.code, bad).to.equal('SEALED_ANSWER_KEY_INVALID');
        if (bad) expect(err.message).to.not.contain(bad);
      }
      expect(openSealedAnswer(sealed, `  ${KEY.slice(2)}\n`, o), 'a key file: no 0x, a newline').to.equal(vectors.cases[0].answer);
    });

    it("altered ciphertext, tag or nonce, or another task's id: SEALED_ANSWER_INVALID", () => {
      const flip = (h: string) => `${h.slice(0, -1)}${h.endsWith('0') ? '1' : '0'}`;
      for (const field of ['ciphertext', 'tag', 'nonce'] as const) {
        expect(failure(() => openSealedAnswer({ ...sealed, [field]: flip(sealed[field]) }, KEY, o)).code, field).to.equal('SEALED_ANSWER_INVALID');
      }
      expect(failure(() => openSealedAnswer({ ...sealed, ciphertext: sealed.ciphertext.slice(0, -2) as Hex }, KEY, o)).code, 'cut').to.equal('SEALED_ANSWER_INVALID');
      expect(failure(() => openSealedAnswer(sealed, KEY, { ...o, taskId: '019b0c5e-7a1d-7c3e-8f00-5e41ed000002' })).message).to.contain('019b0c5e-7a1d-7c3e-8f00-5e41ed000002');
    });

    it('an answer that is not the signed one: ANSWER_HASH_MISMATCH', () => {
      const err = failure(() => openSealedAnswer(sealed, KEY, { ...o, answerHash: vectors.cases[1].answerHash }));
      expect(err.code).to.equal('ANSWER_HASH_MISMATCH');
      expect(err.message).to.contain(vectors.cases[0].answerHash);
    });
  });
});

describe('a sealed answer in a scheme this client does not know (a newer server)', () => {
  it('still parses in the task view the SDK reads, and reading it names the scheme (SEALED_ANSWER_INVALID), rather than failing the whole response', () => {
    const secret = secp.utils.randomSecretKey();
    const sealed = sealAnswer('the answer', toHex(secp.getPublicKey(secret, true)), 't-1');
    const future = { ...sealed, scheme: 'openmcp-sealed-answer/2' };
    const view = TaskView.parse({
      id: 't-1', tenant: 'acme', status: 'completed', steps: [], output: { answerHash: payloadDigest('the answer').hash },
      sealedAnswer: future, createdAt: '2026-12-06T00:00:00.000Z', updatedAt: '2026-12-06T00:00:00.000Z', revision: 2,
    });
    const err = (() => {
      try {
        readTaskAnswer(view, secret);
      } catch (e) {
        return e as SealedAnswerError;
      }
    })();
    expect(err?.code).to.equal('SEALED_ANSWER_INVALID');
    expect(err?.message).to.contain('openmcp-sealed-answer/2');
  });
});
