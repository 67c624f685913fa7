import { expect } from 'chai';
import { unkeptResultText } from '../../src/agent/runtime/step-payload';
import { PAYLOAD_HASH_SCHEME } from '../../src/erasure/salted-hash';

const HASH = `0x${'ab'.repeat(32)}`;

describe("what a resumed run tells the model of a result its step's event keeps by hash only", () => {
  it('a salted hash does not claim the result is kept: over 256 KiB the gateway keeps only its salt (ToolCallCompleted v4)', () => {
    const text = unkeptResultText(HASH, PAYLOAD_HASH_SCHEME);
    expect(text).to.contain(`${PAYLOAD_HASH_SCHEME} ${HASH}`);
    expect(text).to.not.match(/is kept only encrypted/);
    expect(text).to.contain('over 256 KiB');
  });

  it('a plain SHA-256: hash-only, or over 256 KiB', () => {
    expect(unkeptResultText(HASH)).to.equal(`[the result (sha-256 ${HASH}) is not kept in the task's log (MCP_PAYLOAD_POLICY=hash-only, or over 256 KiB), and this run resumed the task after a restart, so it cannot be shown again]`);
  });
});
