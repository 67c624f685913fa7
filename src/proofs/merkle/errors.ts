import { OpenMcpError } from '../../core/errors';
import { toHex, type Hex } from '../../core/hex';

/** The root computed from an inclusion proof is not the expected one. */
export class RootMismatchError extends OpenMcpError {
  readonly expectedRoot: Hex;
  readonly computedRoot: Hex;
  constructor(expected: Uint8Array, computed: Uint8Array) {
    const e = toHex(expected);
    const c = toHex(computed);
    super('MERKLE_ROOT_MISMATCH', `root mismatch: expected ${e}, computed ${c}`, {
      status: 422,
      details: { expectedRoot: e, computedRoot: c },
    });
    this.expectedRoot = e;
    this.computedRoot = c;
  }
}

/** The proof cannot belong to a tree of that size at that index (wrong length, index ≥ size). */
export class InvalidInclusionProofError extends OpenMcpError {
  constructor(message: string, details?: Record<string, unknown>) {
    super('MERKLE_PROOF_INVALID', message, { status: 422, details });
  }
}
