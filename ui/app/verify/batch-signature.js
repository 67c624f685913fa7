import { recoverPublicKey } from '@noble/secp256k1';
import { fromHex, toHex, utf8 } from './hex.js';
import { canonicalJson } from './jcs.js';
import { keccak256 } from './keccak.js';
import { sha256 } from './sha256.js';

/** The digest the sealer signs: SHA-256 of the JCS of {batchId, firstSeq, lastSeq, root, prevRoot} (docs/proofs.md §4). */
export async function batchHeadDigest(/** @type {{batchId:number, firstSeq:number, lastSeq:number, root:string, prevRoot:string}} */ head) {
  const { batchId, firstSeq, lastSeq, root, prevRoot } = head;
  return sha256(utf8(canonicalJson({ batchId, firstSeq, lastSeq, root, prevRoot })));
}

/**
 * The Ethereum address (lowercase) that signed the head, recovered offline with secp256k1, or
 * undefined when the signature is malformed. The signature is r ‖ s ‖ v, v = 27 + recovery id.
 * @param {{batchId:number, firstSeq:number, lastSeq:number, root:string, prevRoot:string}} head @param {string} signature
 */
export async function recoverBatchHeadSigner(head, signature) {
  try {
    const sig = fromHex(signature, 65);
    const v = sig[64] >= 27 ? sig[64] - 27 : sig[64];
    if (v !== 0 && v !== 1) return undefined;
    // noble's recovered layout is recovery ‖ r ‖ s.
    const recovered = new Uint8Array(65);
    recovered[0] = v;
    recovered.set(sig.subarray(0, 64), 1);
    const pub = recoverPublicKey(recovered, await batchHeadDigest(head), { prehash: false, isCompressed: false });
    return toHex(keccak256(pub.subarray(1)).subarray(12));
  } catch {
    return undefined;
  }
}
