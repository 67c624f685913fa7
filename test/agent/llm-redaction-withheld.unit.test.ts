import { expect } from 'chai';
import fc from 'fast-check';
import { recordedError, withheld, withheldServerText } from '../../src/agent/runtime/llm-redaction';
import { AgentError } from '../../src/agent/errors';
import { taskDecider } from '../../src/domain/task/task.decider';
import { catalog } from '../../events';
import { newPayloadSalt, saltedPayloadHash } from '../../src/erasure/salted-hash';
import { payloadDigest } from '../../src/mcp/payload-hash';

describe('withheld: how a recorded message names a text of the model it leaves out', () => {
  it('without a salt, by the SHA-256 of its canonical JSON string (as before); with one, by the salted hash, never the SHA-256 (property)', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        const d = payloadDigest(text);
        expect(withheld(text)).to.equal(`withheld (LLM_REDACTION=hash-only), sha256 ${d.hash}`);
        const salt = newPayloadSalt();
        const salted = withheld(text, salt);
        expect(salted).to.equal(`withheld (LLM_REDACTION=hash-only), hmac-sha256-salted-v1 ${saltedPayloadHash(salt, d.json)}`);
        expect(salted).to.not.contain(d.hash.slice(2));
      }),
      { numRuns: 100 },
    );
  });
});

describe("recordedError: an LLM server's words withheld from TaskFailed", () => {
  const said = 'unknown customer gina@example.com';
  const err = new AgentError('LLM_REQUEST_REFUSED', `LLM at http://127.0.0.1:1/v1: 400 ${said}`, { details: { providerStatus: 400, serverText: said } });

  it('names them by their SHA-256 (no salt), their salted hash (a salt), or no digest (null: no salt could be sealed); under store keeps them', () => {
    const d = payloadDigest(said);
    expect(recordedError(err, 'hash-only').message).to.equal(`LLM at http://127.0.0.1:1/v1: 400 withheld (LLM_REDACTION=hash-only), sha256 ${d.hash}`);
    const salt = newPayloadSalt();
    expect(recordedError(err, 'hash-only', salt).message).to.equal(`LLM at http://127.0.0.1:1/v1: 400 withheld (LLM_REDACTION=hash-only), hmac-sha256-salted-v1 ${saltedPayloadHash(salt, d.json)}`);
    expect(recordedError(err, 'hash-only', null).message).to.equal('LLM at http://127.0.0.1:1/v1: 400 withheld (LLM_REDACTION=hash-only)');
    expect(recordedError(err, 'store', salt).message).to.contain(said);
    expect(withheldServerText(err, 'hash-only')).to.equal(said);
    expect(withheldServerText(err, 'store')).to.equal(undefined);
  });

  it('the task decider writes TaskFailed v2 only with a sealed salt, v1 otherwise', () => {
    const running = { status: 'running' as const, stepCount: 0 };
    const saltSealed = { alg: 'A256GCM' as const, kid: '0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b', iv: `0x${'0'.repeat(24)}` as const, ct: `0x${'0'.repeat(132)}` as const, tag: `0x${'0'.repeat(32)}` as const };
    const error = { code: 'LLM_UNAVAILABLE', message: 'x' };
    expect(taskDecider.decide({ type: 'FailTask', error }, running).map((e) => e.version ?? 1)).to.deep.equal([1]);
    const [v2] = taskDecider.decide({ type: 'FailTask', error, errorSaltSealed: saltSealed }, running);
    expect(v2.version).to.equal(2);
    expect(catalog.validate('TaskFailed', 2, v2.data)).to.deep.equal({ error, errorSaltSealed: saltSealed });
    expect(() => catalog.validate('TaskFailed', 1, v2.data)).to.throw();
  });
});
