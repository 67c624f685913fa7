import { OpenMcpError } from '../core/errors';

export type Web3ErrorCode = 'SIGNER_FAILED' | 'CHAIN_NOT_CONFIGURED' | 'CONTRACT_NOT_CONFIGURED' | 'CONTRACT_CALL_FAILED' | 'CONTRACT_METHOD_AMBIGUOUS' | 'TX_FAILED' | 'TX_REJECTED' | 'TX_REVERTED' | 'TX_DROPPED' | 'WALLET_NOT_CONFIGURED' | 'NONCE_LOCK_BUSY' | 'NONCE_LOCK_LOST';

const STATUS: Partial<Record<Web3ErrorCode, number>> = { CHAIN_NOT_CONFIGURED: 400, CONTRACT_NOT_CONFIGURED: 400, CONTRACT_CALL_FAILED: 422, CONTRACT_METHOD_AMBIGUOUS: 400, NONCE_LOCK_BUSY: 503, NONCE_LOCK_LOST: 503 };

/** Chain, wallet and contract errors of the agent's web3 tools. */
export class Web3Error extends OpenMcpError {
  constructor(code: Web3ErrorCode, message: string, cause?: unknown) {
    super(code, message, { status: STATUS[code] ?? 502, cause });
  }
}
