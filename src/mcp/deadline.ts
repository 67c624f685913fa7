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
 * aborted with `reason`, an McpError like the SDK's own (`data: { timeout }`) made only then:
 * `isExpiry(err)` tells this deadline's end from anything the upstream answered, by identity,
 * never by code.
 * Send the request with `{ signal, timeout: SDK_TIMEOUT_OFF }`, and clear() the deadline when it
 * settles. `controller`: one the caller aborts for other reasons too (a cancellation).
 * @example
 * const deadline = new Deadline(5_000);
 * try { await client.ping({ signal: deadline.signal, timeout: SDK_TIMEOUT_OFF }) }
 * catch (err) { if (deadline.isExpiry(err)) … } finally { deadline.clear() }
 */
export class Deadline {
  private readonly timer: NodeJS.Timeout;
  /** Made only when the deadline passes: an Error captures a stack, microseconds on every call that ends in time. */
  private expiry?: McpError;

  constructor(
    readonly ms: number,
    private readonly controller = new AbortController(),
  ) {
    this.timer = setTimeout(() => {
      this.expiry = McpError.fromError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: ms });
      this.controller.abort(this.expiry);
    }, ms);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** What the deadline aborted the signal with, once it passed (undefined before). */
  get reason(): McpError | undefined {
    return this.expiry;
  }

  /** Whether the deadline passed (and aborted the signal). */
  get expired(): boolean {
    return this.expiry !== undefined;
  }

  /** `err` is the SDK's rejection of the request because this deadline passed. */
  isExpiry(err: unknown): boolean {
    return this.expiry !== undefined && err === this.expiry;
  }

  /** Count `ms` from now again (a sign of life: a progress notification). No effect once expired or cleared. */
  restart(): void {
    if (!this.expiry) this.timer.refresh();
  }

  clear(): void {
    clearTimeout(this.timer);
  }
}
