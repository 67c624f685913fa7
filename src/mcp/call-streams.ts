import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { isJSONRPCRequest, type RequestId } from '@modelcontextprotocol/sdk/types.js';

/** The requests of an upstream that the gateway relays, as they appear in an event's data. */
const RELAYED = /"method"\s*:\s*"(?:sampling\/createMessage|elicitation\/create)"/;

/** The most resumption tokens CallStreams.forgo keeps. */
const FORGONE = 100;

/** The id the SDK client writes last in a request it POSTs (`{...request, jsonrpc, id}`). */
const TRAILING_ID = /"id":(\d+)\}$/;

/**
 * A pass-through for an SSE byte stream that hands `onData` the data of each complete event of
 * type `message` (or none) before passing on the chunk that completed it: whoever reads the
 * stream after it sees an event only once `onData` has. Framing as the WHATWG EventSource spec
 * says (lines end in CRLF, LF or CR; `data:` lines joined with LF; a blank line ends an event).
 */
export function sseDataTap(onData: (data: string) => void): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  // The line being read, in the pieces the chunks brought: joined once it ends. Re-reading it
  // whole at each chunk (as a string grown and split again) cost time of the square of its
  // length: ~9 s of the event loop for one 10 MiB event, the longest an upstream may send.
  let open: string[] = [];
  // The last chunk ended in a CR: a LF first in the next is the rest of that CRLF, not a line end.
  let afterCr = false;
  let data: string[] = [];
  let type = '';
  const line = (l: string) => {
    if (l === '') {
      if (data.length && (type === '' || type === 'message')) onData(data.join('\n'));
      data = [];
      type = '';
      return;
    }
    const colon = l.indexOf(':');
    if (colon === 0) return;
    const field = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') type = value;
  };
  return new TransformStream({
    transform(chunk, controller) {
      let text = decoder.decode(chunk, { stream: true });
      // Text came (not only part of a character): the CR is answered, whether by a LF or not; a
      // LF alone, eaten here, must not leave it standing for the next chunk's LF (a blank line).
      if (afterCr && text !== '') {
        if (text.startsWith('\n')) text = text.slice(1);
        afterCr = false;
      }
      if (text !== '') afterCr = text.endsWith('\r');
      const eol = /\r\n|\r|\n/g;
      let from = 0;
      for (let m = eol.exec(text); m; m = eol.exec(text)) {
        open.push(text.slice(from, m.index));
        const l = open.length === 1 ? open[0] : open.join('');
        open = [];
        line(l);
        from = m.index + m[0].length;
      }
      if (from < text.length) open.push(text.slice(from));
      controller.enqueue(chunk);
    },
  });
}

/**
 * Which tools/call's own answer stream each sampling/elicitation request of a streamable HTTP
 * upstream arrived on: the one thing that ties such a request to the call it was made for (the
 * upstream's SDK sends a request made with `extra.sendRequest` there). One per connection:
 * `watch` its transport (to learn the JSON-RPC id of each call as it is sent), give its transport
 * `fetch`, start each call with `start`, and `take` the call of a request when it comes.
 */
export class CallStreams<Call extends object> {
  private sending?: Call;
  /** The calls in flight by the id of their tools/call request. */
  private readonly byId = new Map<RequestId, Call>();
  private readonly idOf = new Map<Call, RequestId>();
  /** The upstream's requests seen on a call's answer stream, by their id. */
  private readonly asked = new Map<RequestId, Call>();
  /** The resumption tokens (last event ids) of answer streams cut for their size (forgo). */
  private readonly forgone = new Set<string>();

  /** Learn the id of the tools/call a `start`ed call sends (the SDK sends it synchronously). */
  watch(transport: Transport): void {
    const send = transport.send.bind(transport);
    transport.send = (message, options) => {
      if (this.sending && isJSONRPCRequest(message) && message.method === 'tools/call') {
        this.byId.set(message.id, this.sending);
        this.idOf.set(this.sending, message.id);
        this.sending = undefined;
      }
      return send(message, options);
    };
  }

  /** `base`, with the answer stream of each call in flight tapped for the requests it carries. */
  fetch(base: FetchLike): FetchLike {
    return async (url, init) => {
      // The SDK resuming an answer stream cut for its size: a resumable upstream would replay the
      // event that was too large, on a stream no call owns, and the connection would end for it.
      // Refused here as an upstream without a GET stream refuses it (405: the SDK gives up quietly).
      if (this.forgone.size && init?.method === 'GET') {
        const token = new Headers(init.headers).get('last-event-id');
        if (token !== null && this.forgone.delete(token)) return new Response(null, { status: 405, statusText: 'not resumed: its answer was too large' });
      }
      const response = await base(url, init);
      if (this.byId.size === 0 || init?.method !== 'POST' || typeof init.body !== 'string' || !response.body) return response;
      if (!response.headers.get('content-type')?.includes('text/event-stream')) return response;
      const call = this.callOf(init.body);
      if (!call) return response;
      const tapped = response.body.pipeThrough(sseDataTap((data) => this.saw(data, call)));
      return new Response(tapped, { status: response.status, statusText: response.statusText, headers: response.headers });
    };
  }

  /** Run `send`, which sends `call`'s tools/call (synchronously, before its first await); forget the call when it settles. */
  start<T>(call: Call, send: () => Promise<T>): Promise<T> {
    this.sending = call;
    let sent: Promise<T>;
    try {
      sent = send();
    } finally {
      this.sending = undefined;
    }
    return sent.finally(() => this.forget(call));
  }

  /**
   * Whether `init` POSTs a tools/call (as the SDK writes one: its method first), in flight or not:
   * its answer stream is that call's own, whatever else the upstream sends on it.
   */
  postsCall(init: RequestInit | undefined): boolean {
    return init?.method === 'POST' && typeof init.body === 'string' && init.body.startsWith('{"method":"tools/call"');
  }

  /** The call in flight whose tools/call `init` POSTs (the request an answer stream answers), if any. */
  callFor(init: RequestInit | undefined): Call | undefined {
    if (init?.method !== 'POST' || typeof init.body !== 'string') return undefined;
    return this.callOf(init.body);
  }

  /**
   * Never resume the answer stream whose last event id was `token` (its answer was cut for its
   * size, and its call failed): the SDK resumes a stream cut short once it saw an event id (a
   * resumable upstream's priming event). At most FORGONE kept (the SDK resumes within seconds).
   */
  forgo(token: string): void {
    this.forgone.add(token);
    if (this.forgone.size > FORGONE) this.forgone.delete(this.forgone.values().next().value!);
  }

  /** The call on whose answer stream request `id` arrived (once: the entry goes). */
  take(id: RequestId): Call | undefined {
    const call = this.asked.get(id);
    this.asked.delete(id);
    return call;
  }

  private callOf(body: string): Call | undefined {
    if (!body.includes('"tools/call"')) return undefined;
    const id = TRAILING_ID.exec(body)?.[1];
    if (id !== undefined) return this.byId.get(Number(id));
    try {
      return this.byId.get((JSON.parse(body) as { id: RequestId }).id);
    } catch {
      return undefined;
    }
  }

  private saw(data: string, call: Call): void {
    if (!RELAYED.test(data) || !this.idOf.has(call)) return;
    try {
      const m = JSON.parse(data) as { method?: unknown; id?: unknown };
      if (typeof m.method === 'string' && (typeof m.id === 'string' || typeof m.id === 'number')) this.asked.set(m.id, call);
    } catch {
      // Not JSON: the SDK's parse reports it.
    }
  }

  private forget(call: Call): void {
    const id = this.idOf.get(call);
    this.idOf.delete(call);
    if (id !== undefined) this.byId.delete(id);
    for (const [r, c] of this.asked) if (c === call) this.asked.delete(r);
  }
}
