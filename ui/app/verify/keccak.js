// Ethereum's Keccak-256 (not NIST SHA3; WebCrypto has neither), from @noble/hashes served locally.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { toHex, utf8 } from './hex.js';

/** @param {Uint8Array} bytes */
export const keccak256 = (bytes) => keccak_256(bytes);

/** The 4-byte selector of a Solidity function signature, e.g. `batch(uint64)`. @param {string} signature */
export const selector = (signature) => toHex(keccak_256(utf8(signature)).subarray(0, 4));
