import { expect } from 'chai';
import fc from 'fast-check';
import { withheld } from '../../src/agent/runtime/llm-redaction';
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
