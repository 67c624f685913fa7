import { OpenMcpError } from '../core/errors';

/**
 * A write carried a fencing token that is no longer the newest for its lease: another candidate
 * took the lease since, so this (deposed) leader's write is refused.
 */
export class LeaseFencedError extends OpenMcpError {
  constructor(
    readonly lease: string,
    readonly token: number,
    readonly current: number,
  ) {
    super('LEASE_FENCED', `lease ${lease}: token ${token} is stale (current ${current}); this leader was deposed`, {
      status: 409,
      details: { lease, token, current },
    });
  }
}
