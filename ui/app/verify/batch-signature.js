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

const SECP256K1_HALF_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n >> 1n;

/**
 * Why the signature is not in the one encoding batch heads are signed in (65 bytes r ‖ s ‖ v as
 * 0x lowercase hex, v = 27 + recovery id, low s), or undefined: the same rule, and words, as
 * batchSignatureProblem in src/proofs/batch-head.ts, so both verifiers pass the same files.
 * @param {unknown} signature @returns {string|undefined}
 */
export function signatureProblem(signature) {
  if (typeof signature !== 'string' || !/^0x[0-9a-f]{130}$/.test(signature)) return 'is not 65 bytes of 0x lowercase hex (r ‖ s ‖ v)';
  const v = parseInt(signature.slice(130), 16);
  if (v !== 27 && v !== 28) return `has v = ${v}, expected 27 or 28 (27 + recovery id)`;
  if (BigInt(`0x${signature.slice(66, 130)}`) > SECP256K1_HALF_N) return 'has a high s (above n/2): not the canonical low-s form';
  return undefined;
}

/**
 * The Ethereum address (lowercase) that signed the head, recovered offline with secp256k1, or
 * undefined when the signature is malformed (see signatureProblem).
 * @param {{batchId:number, firstSeq:number, lastSeq:number, root:string, prevRoot:string}} head @param {string} signature
 */
export async function recoverBatchHeadSigner(head, signature) {
  if (signatureProblem(signature)) return undefined;
  try {
    const sig = fromHex(signature, 65);
    const v = sig[64] - 27;
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
