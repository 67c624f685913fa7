import { createHmac } from 'node:crypto';
import * as secp from '@noble/secp256k1';
import { computeAddress, recoverAddress } from 'ethers';
import { canonicalJson } from '../core/canonical';
import { sha256 } from '../core/hash';
import { fromHex, toHex, type Hex } from '../core/hex';

/** What the sealer signs for each batch (DESIGN.md "Batch head"). prevRoot of batch 0 is 32 zero bytes. */
export type BatchHead = {
  batchId: number;
  firstSeq: number;
  lastSeq: number;
  root: Hex;
  prevRoot: Hex;
};

export const ZERO_ROOT: Hex = `0x${'00'.repeat(32)}`;

// noble's synchronous sign needs HMAC-SHA256 for RFC 6979 nonces; node:crypto's is native.
secp.hashes.hmacSha256 = (key: Uint8Array, msg: Uint8Array) => new Uint8Array(createHmac('sha256', key).update(msg).digest());
secp.hashes.sha256 = (msg: Uint8Array) => new Uint8Array(sha256(msg));

/** The exact bytes signed: SHA-256 of the JCS encoding of the five head fields (nothing else). */
export function batchHeadDigest(head: BatchHead): Buffer {
  const { batchId, firstSeq, lastSeq, root, prevRoot } = head;
  return sha256(Buffer.from(canonicalJson({ batchId, firstSeq, lastSeq, root, prevRoot }), 'utf8'));
}

/** The Ethereum address (EIP-55 checksummed) of a secp256k1 private key. */
export function signerAddress(privateKey: Hex): Hex {
  return computeAddress(privateKey) as Hex;
}

/**
 * Sign a batch head: ECDSA secp256k1 with RFC 6979 nonces (deterministic, low-s) over
 * batchHeadDigest; 65 bytes r ‖ s ‖ v, v = 27 + recovery id.
 */
export function signBatchHead(head: BatchHead, privateKey: Hex): Hex {
  const sig = secp.sign(batchHeadDigest(head), fromHex(privateKey, 32), { prehash: false, format: 'recovered' });
  // noble's 'recovered' layout is recovery ‖ r ‖ s; Ethereum tools expect r ‖ s ‖ v.
  const out = Buffer.alloc(65);
  Buffer.from(sig.subarray(1, 65)).copy(out, 0);
  out[64] = 27 + sig[0];
  return toHex(out);
}

const SECP256K1_HALF_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n >> 1n;

/**
 * Why `signature` is not in the one encoding a batch head is signed in (65 bytes r ‖ s ‖ v as 0x
 * lowercase hex, v = 27 + recovery id, low s: what signBatchHead writes), or undefined. Checked
 * before recovering because ethers' recoverAddress also takes v 0/1, any v ≥ 35 and 64-byte
 * compact signatures, and a browser's secp256k1 takes high s: the same file passed one verifier
 * and failed the other. ui/app/verify/batch-signature.js checks the same.
 * @example batchSignatureProblem('0x12') // 'is not 65 bytes of 0x lowercase hex (r ‖ s ‖ v)'
 */
export function batchSignatureProblem(signature: unknown): string | undefined {
  if (typeof signature !== 'string' || !/^0x[0-9a-f]{130}$/.test(signature)) return 'is not 65 bytes of 0x lowercase hex (r ‖ s ‖ v)';
  const v = parseInt(signature.slice(130), 16);
  if (v !== 27 && v !== 28) return `has v = ${v}, expected 27 or 28 (27 + recovery id)`;
  if (BigInt(`0x${signature.slice(66, 130)}`) > SECP256K1_HALF_N) return 'has a high s (above n/2): not the canonical low-s form';
  return undefined;
}

/** The address that signed `head`, or undefined when the signature is malformed (see batchSignatureProblem). */
export function recoverBatchHeadSigner(head: BatchHead, signature: string): Hex | undefined {
  if (batchSignatureProblem(signature)) return undefined;
  try {
    return recoverAddress(batchHeadDigest(head), signature) as Hex;
  } catch {
    return undefined;
  }
}
