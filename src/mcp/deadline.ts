import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * The `timeout` to give the SDK for a request whose deadline the gateway keeps itself (Deadline):
 * setTimeout's longest delay (about 24.8 days; a longer one would fire at once), so the SDK's own
 * timer never fires first.
 */
export const SDK_TIMEOUT_OFF = 2 ** 31 - 1;

/**
 * A request's deadline, kept by the gateway rather than the SDK. The SDK fails a request it timed
 * out with McpError RequestTimeout (-32001), the very code an upstream may answer with; so does
 * it fail one whose signal was aborted with such an McpError, but with that object itself. Once
 * `ms` pass (since the start, or the latest restart()), `expired` is set and the controller is
 * aborted with `reason`, an McpError like the SDK's own (`data: { timeout }`): `isExpiry(err)`
 * then tells this deadline's end from anything the upstream answered, by identity, never by code.
 * Send the request with `{ signal, timeout: SDK_TIMEOUT_OFF }`, and clear() the deadline when it
 * settles. `controller`: one the caller aborts for other reasons too (a cancellation).
 * @example
 * const deadline = new Deadline(5_000);
 * try { await client.ping({ signal: deadline.signal, timeout: SDK_TIMEOUT_OFF }) }
 * catch (err) { if (deadline.isExpiry(err)) … } finally { deadline.clear() }
 */
export class Deadline {
  readonly reason: McpError;
  private readonly timer: NodeJS.Timeout;
  private fired = false;

  constructor(
    readonly ms: number,
    private readonly controller = new AbortController(),
  ) {
    this.reason = McpError.fromError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: ms });
    this.timer = setTimeout(() => {
      this.fired = true;
      this.controller.abort(this.reason);
    }, ms);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Whether the deadline passed (and aborted the signal). */
  get expired(): boolean {
    return this.fired;
  }

  /** `err` is the SDK's rejection of the request because this deadline passed. */
  isExpiry(err: unknown): boolean {
    return this.fired && err === this.reason;
  }

  /** Count `ms` from now again (a sign of life: a progress notification). No effect once expired. */
  restart(): void {
    if (!this.fired) this.timer.refresh();
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
