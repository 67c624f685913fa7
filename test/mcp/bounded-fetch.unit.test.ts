import { createServer, type AddressInfo } from 'node:net';
import { expect } from 'chai';
import fc from 'fast-check';
import type { FetchLike } from '@modelcontextprotocol/sdk/shared/transport.js';
import { boundedFetch, isMessageTooLarge, MAX_UPSTREAM_MESSAGE_BYTES, UpstreamMessageTooLargeError } from '../../src/mcp/bounded-fetch';
import { publicOnlyFetch } from '../../src/mcp/public-only-fetch';

/** A fetch answering `chunks` with these headers and status. */
function answering(chunks: string[], headers: Record<string, string>, status = 200): FetchLike {
  return async () =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(c) {
          for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
          c.close();
        },
      }),
      { status, headers },
    );
}

const SSE = { 'content-type': 'text/event-stream' };
const JSON_TYPE = { 'content-type': 'application/json' };

/** The body of a POST (how the SDK sends each message) read whole, or the error that ended it. */
async function read(f: FetchLike): Promise<string | Error> {
  try {
    return await (await f('http://upstream.test/mcp', { method: 'POST' })).text();
  } catch (err) {
    return err as Error;
  }
}

describe('boundedFetch: at most one message of 10 MiB from an HTTP or SSE upstream, as over stdio', () => {
  it('is the MCP SDK stdio limit, 10 MiB', () => {
    expect(MAX_UPSTREAM_MESSAGE_BYTES).to.equal(10 * 1024 * 1024);
  });

  it('passes a JSON body up to the limit unchanged, and errors one past it', async () => {
    expect(await read(boundedFetch(answering(['{"a":', '"12345"}'], JSON_TYPE), { maxBytes: 13 }))).to.equal('{"a":"12345"}');
    const err = await read(boundedFetch(answering(['{"a":', '"123456"}'], JSON_TYPE), { maxBytes: 13 }));
    expect(err).to.be.instanceOf(UpstreamMessageTooLargeError);
    expect((err as Error).message).to.include('over 13 bytes');
  });

  it('refuses a Content-Length over the limit before reading anything', async () => {
    let pulled = 0;
    const base: FetchLike = async () =>
      new Response(new ReadableStream<Uint8Array>({ pull: (c) => void (pulled++, c.enqueue(new Uint8Array(10))) }), { headers: { ...JSON_TYPE, 'content-length': '100' } });
    const err = await boundedFetch(base, { maxBytes: 99 })('http://upstream.test/mcp').then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(UpstreamMessageTooLargeError);
    expect(pulled).to.be.at.most(1);
  });

  it('a body whose Content-Length is within the limit is passed as fetch gave it; a compressed one is still counted as read', async () => {
    const plain = await boundedFetch(answering(['{"a":1}'], { ...JSON_TYPE, 'content-length': '7' }), { maxBytes: 13 })('http://upstream.test/mcp', { method: 'POST' });
    expect(await plain.text()).to.equal('{"a":1}');
    // fetch decompresses a gzip body: its Content-Length says nothing of what is read.
    const gzip = await read(boundedFetch(answering(['x'.repeat(50)], { ...JSON_TYPE, 'content-length': '7', 'content-encoding': 'gzip' }), { maxBytes: 13 }));
    expect(gzip).to.be.instanceOf(UpstreamMessageTooLargeError);
    // Any coding fetch may decode, however written, is counted; identity alone is not decoded.
    for (const coding of ['GZIP', 'x-gzip', 'br', 'deflate', 'gzip, identity', 'identity, gzip']) {
      const err = await read(boundedFetch(answering(['x'.repeat(50)], { ...JSON_TYPE, 'content-length': '7', 'content-encoding': coding }), { maxBytes: 13 }));
      expect(err, coding).to.be.instanceOf(UpstreamMessageTooLargeError);
    }
    expect(await read(boundedFetch(answering(['{"a":1}'], { ...JSON_TYPE, 'content-length': '7', 'content-encoding': ' Identity ' }), { maxBytes: 13 }))).to.equal('{"a":1}');
  });

  it('a GET answer that is no event stream is given as it comes, not read whole first: the SDK reads a streamable HTTP GET body as a stream whatever its type', async () => {
    // The upstream sends a first chunk and keeps the body open (no Content-Length, no event-stream type).
    let secondPull!: () => void;
    const held = new Promise<'held'>((r) => (secondPull = () => setImmediate(() => r('held'))));
    let pulls = 0;
    const base: FetchLike = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(c) {
            if (++pulls === 1) return c.enqueue(new TextEncoder().encode('data: 1\n\n'));
            secondPull();
            return new Promise<void>(() => {});
          },
        }),
        { headers: { 'content-type': 'application/octet-stream' } },
      );
    const got = await Promise.race([boundedFetch(base, { maxBytes: 100 })('http://upstream.test/mcp', { method: 'GET' }), held]);
    expect(got, 'fetch waited for the end of a body kept open').to.not.equal('held');
    const reader = (got as Response).body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).to.equal('data: 1\n\n');
    await reader.cancel();
    // Still bounded in all, as before: past maxBytes the body errors.
    const long = await boundedFetch(answering(['x'.repeat(50), 'x'.repeat(60)], { 'content-type': 'application/octet-stream' }), { maxBytes: 100 })('http://upstream.test/mcp');
    expect(await long.text().then(() => undefined, (e: unknown) => e)).to.be.instanceOf(UpstreamMessageTooLargeError);
  });

  it("what the Content-Length pass-through relies on: Node's fetch and the undici of publicOnlyFetch give no byte past a Content-Length", async () => {
    // A raw upstream declaring 7 bytes and sending 5000 more (or a chunked body besides).
    const answers = [
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{"a":1}${'x'.repeat(5000)}`,
      `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n1388\r\n${'y'.repeat(5000)}\r\n0\r\n\r\n`,
    ];
    let next = 0;
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end(answers[next++ % answers.length]));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    try {
      for (const [name, base] of [['fetch', fetch], ['publicOnlyFetch', publicOnlyFetch({ isInternal: () => false })]] as const) {
        const f = boundedFetch(base, { maxBytes: 13 });
        next = 0;
        expect(await (await f(url, { method: 'POST' })).text(), name).to.equal('{"a":1}');
        // Both framings at once: refused by fetch, nothing passed on.
        expect(await f(url, { method: 'POST' }).then((r) => r.text()).then(() => 'read', () => 'failed'), name).to.equal('failed');
      }
    } finally {
      server.close();
    }
  });

  it('an error body (read by the SDK for its message) is bounded too', async () => {
    const err = await read(boundedFetch(answering(['x'.repeat(50)], { 'content-type': 'text/plain' }, 500), { maxBytes: 10 }));
    expect(isMessageTooLarge(err)).to.equal(true);
  });

  it('an event stream: many events, each under the limit, pass whatever their sum; onTooLarge is not told', async () => {
    const events = Array.from({ length: 50 }, (_, i) => `id: ${i}\ndata: ${'y'.repeat(10)}\n\n`);
    let told = 0;
    const body = await read(boundedFetch(answering(events, SSE), { maxBytes: 30, onTooLarge: () => told++ }));
    expect(body).to.equal(events.join(''));
    expect(told).to.equal(0);
  });

  it('an event stream: one event past the limit errors the stream and tells onTooLarge once', async () => {
    const told: Error[] = [];
    const err = await read(boundedFetch(answering(['data: ok\n\n', 'data: ', 'z'.repeat(40), '\n\n'], SSE), { maxBytes: 30, onTooLarge: (e) => told.push(e) }));
    expect(err).to.be.instanceOf(UpstreamMessageTooLargeError);
    expect(told).to.have.length(1);
    expect(isMessageTooLarge(new Error('wrapped', { cause: told[0] }))).to.equal(true);
  });

  it('an event stream: events end at a blank line of CRLF, LF or CR, cut anywhere between chunks', async () => {
    // Each event is 20 bytes with its line end; two events together would pass 30.
    const text = `data: ${'a'.repeat(13)}\r\n\r\ndata: ${'b'.repeat(13)}\n\ndata: ${'c'.repeat(13)}\r\rdata: ${'d'.repeat(13)}\r\n\r\n`;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: text.length - 1 }), { maxLength: 6 }), async (cuts) => {
        const at = [0, ...cuts.sort((a, b) => a - b), text.length];
        const chunks = at.slice(1).map((end, i) => text.slice(at[i], end));
        expect(await read(boundedFetch(answering(chunks, SSE), { maxBytes: 30 }))).to.equal(text);
      }),
    );
    // Without the blank lines, the same bytes are one event, past the limit.
    expect(await read(boundedFetch(answering([text.replace(/(\r\n|\n|\r)(?=\1)/g, '')], SSE), { maxBytes: 30 }))).to.be.instanceOf(UpstreamMessageTooLargeError);
  });

  it('an event stream is read in time of its length: a chunk of many short lines is not searched again per line', async () => {
    // An upstream's chunk of many short lines ("a\n\n" over and over, LF only) once cost a search
    // of the rest of the chunk for a CR at every line: ~1 s of the event loop for one 64 KiB chunk.
    let scanned = 0;
    class CountingBytes extends Uint8Array {
      override indexOf(value: number, from = 0): number {
        const at = super.indexOf(value, from);
        scanned += (at < 0 ? this.length : at + 1) - from;
        return at;
      }
    }
    const text = 'a\n\n'.repeat(2000) + 'data: b\r\n\r\n'.repeat(500);
    const chunk = new CountingBytes(new TextEncoder().encode(text));
    const f = boundedFetch(async () => new Response(new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(chunk), c.close()) }), { headers: SSE }), { maxBytes: 30 });
    expect(await (await f('http://upstream.test/mcp')).text()).to.equal(text);
    expect(scanned).to.be.at.most(2 * chunk.length);
  });

  it('leaves answers without a body (202, 204) and redirects as they are', async () => {
    const accepted = await boundedFetch(async () => new Response(null, { status: 202 }), { maxBytes: 1 })('http://upstream.test/mcp');
    expect(accepted.status).to.equal(202);
    const moved = await boundedFetch(async () => new Response('x'.repeat(10), { status: 307, headers: { location: '/elsewhere' } }), { maxBytes: 1 })('http://upstream.test/mcp');
    expect(moved.headers.get('location')).to.equal('/elsewhere');
  });
});
