import type { OpenMcpClient } from '../sdk/client';
import { printable, printableJson } from './printable';
import { reportCliError, stdout, type Writer } from './tasks';

export type EventsTailOptions = {
  stream?: string;
  type?: string;
  /** Exclusive start position; default: the start of the log. */
  after?: number;
  /** Keep polling for new events until `signal` aborts. */
  follow?: boolean;
  intervalMs?: number;
  json?: boolean;
  signal?: AbortSignal;
};

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * `openmcp events tail [--stream S] [--type T] [--after N] [--follow] [--json]`: print the log in
 * position order, one line per event (position, time, type, stream, actor, hash), then with
 * --follow keep printing new events as they arrive. Returns the exit code.
 */
export async function runEventsTail(client: OpenMcpClient, o: EventsTailOptions = {}, out: Writer = stdout): Promise<number> {
  let after = o.after;
  try {
    for (;;) {
      const page = await client.events.list({ stream: o.stream, type: o.type, after, limit: 500 });
      for (const e of page.items) {
        out(o.json ? printableJson(e) : `${e.position}\t${e.occurredAt}\t${e.type}\t${e.stream}\t${e.actor.kind}:${printable(e.actor.id)}\t${e.hash}`);
        after = e.position;
      }
      if (page.nextCursor) continue;
      if (!o.follow || o.signal?.aborted) return 0;
      await sleep(o.intervalMs ?? 1000, o.signal);
      if (o.signal?.aborted) return 0;
    }
  } catch (err) {
    return reportCliError(err, out);
  }
}
