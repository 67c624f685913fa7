import { randomUUID } from 'node:crypto';
import { PassThrough, type Readable } from 'node:stream';
import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';
import { CANCELLED_ERROR } from './cancelled-answer';
import type { ReplayLog } from './replay-log';

const sseEvent = (id: string, message: JSONRPCMessage): string => `event: message\nid: ${id}\ndata: ${JSON.stringify(message)}\n\n`;

/**
 * A resumed stream that ended with no response ended so because the client cancelled its request
 * (one whose response the log let go cannot be resumed: the log lets a session's oldest go first,
 * so it let go the event resumed after too, and the GET opens a fresh stream). It is answered as
 * a cancelled request is where an answer cannot be left out, or a client would wait (or
 * reconnect) for ever.
 */
/**
 * One request's answer as an SSE stream (the fast path of SessionTransport), each event with an
 * id recorded in the replica's ReplayLog, so that a client whose connection drops takes the stream
 * up again with a GET carrying `Last-Event-ID`: it gets the events it missed, then the rest as they
 * come. The call is never run again: what is replayed is what was sent.
 *
 * `priming`: open with an event that has an id and no data (protocol 2025-11-25), so a client can
 * resume a stream that drops before its first message; older clients may not expect one.
 */
export class ReplyStream {
  readonly id = `post-${randomUUID()}`;
  private current: PassThrough;
  private ended = false;
  /** Whether its response was sent (else, ended, the client cancelled the request). */
  private responded = false;
  /** The id of its last event. */
  private last: string | undefined;

  private readonly session: string;
  private readonly owner: string;

  /** `at`: the session it answers in, and whose share of the log its events count to (the session's tenant). */
  constructor(
    private readonly log: ReplayLog,
    at: { session: string; owner: string },
    private readonly request: RequestId,
    priming: boolean,
  ) {
    this.session = at.session;
    this.owner = at.owner;
    this.current = new PassThrough();
    if (priming) {
      this.last = log.append(this.session, this.id, undefined, this.owner);
      this.current.write(`id: ${this.last}\ndata: \n\n`);
    }
  }

  /** The stream the POST is answered with. */
  get first(): Readable {
    return this.current;
  }

  get done(): boolean {
    return this.ended;
  }

  /** Whether the log still holds events of this answer (it lets a session's go oldest first, so its last tells). */
  get held(): boolean {
    return this.last !== undefined && this.log.streamOf(this.session, this.last) !== undefined;
  }

  /** Send `message` (recorded first, so a client that resumes later gets it too). */
  write(message: JSONRPCMessage): void {
    const id = this.log.append(this.session, this.id, message, this.owner);
    this.last = id;
    if ('id' in message && !('method' in message)) this.responded = true;
    if (!this.current.destroyed && !this.current.writableEnded) this.current.write(sseEvent(id, message));
  }

  /** The answer is complete: its response written (or none is coming, the client cancelled). */
  end(): void {
    this.ended = true;
    this.current.end();
  }

  /**
   * A new HTTP response taking the stream up after `lastEventId` (an event of this stream): the
   * events that followed it, then, while the request runs, what comes next. The connection it
   * replaces, if still open, is ended (one reader at a time).
   * Requires `lastEventId` to be an event of this stream still in the log.
   */
  resume(lastEventId: string): Readable {
    const next = new PassThrough();
    const replay = this.log.after(this.session, lastEventId);
    for (const [id, message] of replay?.events ?? []) next.write(sseEvent(id, message));
    // Nothing to replay of a call still running: node sends the answer's head with its first
    // bytes, so the client heard nothing until the call's next event (for a quiet call, its end,
    // past a proxy's timeout). A comment sends it now, as the SDK flushes its own streams' heads.
    if (!this.ended && !replay?.events.length) next.write(': resumed\n\n');
    if (this.ended) {
      if (!this.responded) {
        // Recorded as the stream's last event, with an id as every other: a later resume ends here.
        const cancelled: JSONRPCMessage = { jsonrpc: '2.0', id: this.request, error: CANCELLED_ERROR };
        this.responded = true;
        this.write(cancelled);
        next.write(sseEvent(this.last!, cancelled));
      }
      next.end();
    } else {
      this.current.end();
      this.current = next;
    }
    return next;
  }
}
