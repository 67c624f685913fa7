import { expect } from 'chai';
import vector from '../vectors/batch-head.json';
import { canonicalJson } from '../../src/core/canonical';
import { toHex, type Hex } from '../../src/core/hex';
import { batchHeadDigest, recoverBatchHeadSigner, signBatchHead, signerAddress, type BatchHead } from '../../src/proofs/batch-head';

describe('batch head signature (shared vector)', () => {
  const head = vector.head as BatchHead;
  const key = vector.privateKey as Hex;

  it('canonical text and digest match', () => {
    expect(canonicalJson(head)).to.equal(vector.canonical);
    expect(toHex(batchHeadDigest(head))).to.equal(vector.digest);
  });

  it('signer address matches', () => {
    expect(signerAddress(key)).to.equal(vector.signer);
  });

  it('reproduces the RFC 6979 signature byte for byte (r ‖ s ‖ v)', () => {
    expect(signBatchHead(head, key)).to.equal(vector.signature);
  });

  it('recovers the signer, and not after a change to any head field', () => {
    expect(recoverBatchHeadSigner(head, vector.signature)).to.equal(vector.signer);
    expect(recoverBatchHeadSigner({ ...head, lastSeq: 13 }, vector.signature)).to.not.equal(vector.signer);
    expect(recoverBatchHeadSigner(head, '0x1234')).to.equal(undefined);
  });
});
