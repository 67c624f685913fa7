import { createHmac } from 'node:crypto';
import * as secp from '@noble/secp256k1';
import { computeAddress, recoverAddress } from 'ethers';
import { hashCanonical, sha256 } from '../../core/hash';
import { fromHex, toHex, type Hex } from '../../core/hex';

// noble's synchronous sign needs HMAC-SHA256 for RFC 6979 nonces (same setup as the batch-head signer).
secp.hashes.hmacSha256 = (key: Uint8Array, msg: Uint8Array) => new Uint8Array(createHmac('sha256', key).update(msg).digest());
secp.hashes.sha256 = (msg: Uint8Array) => new Uint8Array(sha256(msg));

export type SignedOutput = { output: unknown; outputHash: Hex; signer: Hex; signature: Hex };

/**
 * Sign a task's output: outputHash = SHA-256 of the output's canonical JSON (integers only);
 * signature = ECDSA secp256k1 over outputHash (RFC 6979, low-s), 65 bytes r ‖ s ‖ v with
 * v = 27 + recovery id, as the batch head. Check with `ethers.recoverAddress(outputHash, signature).toLowerCase() === signer` (signer is lowercase).
 */
export function signOutput(output: unknown, privateKey: Hex): SignedOutput {
  const outputHash = hashCanonical(output);
  const sig = secp.sign(fromHex(outputHash, 32), fromHex(privateKey, 32), { prehash: false, format: 'recovered' });
  const out = Buffer.alloc(65);
  Buffer.from(sig.subarray(1, 65)).copy(out, 0);
  out[64] = 27 + sig[0];
  return { output, outputHash, signer: computeAddress(privateKey).toLowerCase() as Hex, signature: toHex(out) };
}

/** True when `signature` over `outputHash` recovers to `signer` and the hash matches `output`. */
export function verifyOutputSignature(s: { output?: unknown; outputHash: string; signer: string; signature: string }): boolean {
  try {
    if (s.output !== undefined && hashCanonical(s.output) !== s.outputHash) return false;
    return recoverAddress(s.outputHash, s.signature).toLowerCase() === s.signer.toLowerCase();
  } catch {
    return false;
  }
}
