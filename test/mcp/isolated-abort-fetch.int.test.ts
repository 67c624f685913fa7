import { expect } from 'chai';
import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { isolatedAbortFetch } from '../../src/mcp/isolated-abort-fetch';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';

describe('isolatedAbortFetch: one abort listener on the shared signal, whatever the number of requests', function () {
  let server: Server;
  let base: string;

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/json') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      if (req.url === '/slow') return void setTimeout(() => res.writeHead(200).end('late'), 5_000).unref();
      if (req.url === '/stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: first\n\n');
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

  it('leaves one listener on the shared signal after many requests', async () => {
    const shared = new AbortController();
    const f = isolatedAbortFetch();
    for (let i = 0; i < 200; i++) expect(await (await f(`${base}/json`, { signal: shared.signal })).json()).to.deep.equal({ ok: true });
    expect(listeners(shared.signal)).to.equal(1);
    // What the SDK's own use of fetch does with the same shared signal (the reason for the wrapper):
    for (let i = 0; i < 200; i++) await (await fetch(`${base}/json`, { signal: shared.signal })).json();
    expect(listeners(shared.signal), 'plain fetch keeps a listener per request until GC').to.be.greaterThan(0);
  });

  it('still aborts a request in flight when the shared signal aborts, and leaves no listener', async () => {
    const shared = new AbortController();
    const pending = isolatedAbortFetch()(`${base}/slow`, { signal: shared.signal });
    await new Promise((r) => setTimeout(r, 50));
    shared.abort(new Error('transport closed'));
    const err = await pending.then(() => undefined, (e: unknown) => e);
    expect((err as Error)?.message).to.equal('transport closed');
    expect(listeners(shared.signal)).to.equal(0);
  });

  it('keeps one listener with many requests in flight at once, and aborts them all', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => w.name === 'MaxListenersExceededWarning' && warnings.push(w);
    process.on('warning', onWarning);
    try {
      const shared = new AbortController();
      const f = isolatedAbortFetch();
      // Two fetch wrappers on one transport signal (as after a reconnect) still share the listener.
      const g = isolatedAbortFetch();
      const pending = Array.from({ length: 40 }, (_, i) => (i % 2 ? f : g)(`${base}/slow`, { signal: shared.signal }).then(() => 'answered', (e: Error) => e.message));
      await new Promise((r) => setTimeout(r, 100));
      expect(listeners(shared.signal)).to.equal(1);
      shared.abort(new Error('transport closed'));
      expect(await Promise.all(pending)).to.deep.equal(Array(40).fill('transport closed'));
      await new Promise((r) => setImmediate(r));
      expect(warnings).to.deep.equal([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('a request that finished before the abort is not aborted afterwards', async () => {
    const shared = new AbortController();
    const res = await isolatedAbortFetch()(`${base}/json`, { signal: shared.signal });
    shared.abort(new Error('transport closed'));
    expect(await res.json()).to.deep.equal({ ok: true });
  });

  it('keeps an event stream abortable by the shared signal while it is read', async () => {
    const shared = new AbortController();
    const res = await isolatedAbortFetch()(`${base}/stream`, { signal: shared.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).to.include('first');
    const next = reader.read();
    shared.abort(new Error('transport closed'));
    const err = await next.then(() => undefined, (e: unknown) => e);
    expect(err, 'the read ends with the abort').to.be.instanceOf(Error);
  });

  it('an event stream read to its end, or cancelled, stops following the shared signal (none kept per answer)', async () => {
    // Streamable HTTP answers each call as an event stream: were each followed until the transport
    // closes, every call of a long-lived connection would leave its AbortController behind.
    const shared = new AbortController();
    const signals: AbortSignal[] = [];
    const f = isolatedAbortFetch(async (_url, init) => {
      signals.push(init!.signal!);
      return new Response('data: {"ok":true}\n\n', { headers: { 'content-type': 'text/event-stream' } });
    });
    expect(await (await f('http://upstream.test/mcp', { signal: shared.signal })).text()).to.include('ok');
    await (await f('http://upstream.test/mcp', { signal: shared.signal })).body!.cancel();
    shared.abort(new Error('transport closed'));
    expect(signals.map((s) => s.aborted)).to.deep.equal([false, false]);
  });

  it('rejects at once with a signal that is already aborted', async () => {
    const shared = new AbortController();
    shared.abort(new Error('closed before'));
    const err = await isolatedAbortFetch()(`${base}/json`, { signal: shared.signal }).then(() => undefined, (e: unknown) => e);
    expect((err as Error)?.message).to.equal('closed before');
  });

  describe('under the SDK client transport, as the gateway reaches an HTTP upstream', () => {
    let example: HttpExample;
    before(async () => {
      example = await startHttpExample();
    });
    after(async () => example?.close());

    it('calls tools, 16 at a time, with one listener on the transport signal and no MaxListenersExceededWarning', async function () {
      this.timeout(60_000);
      const warnings: Error[] = [];
      const onWarning = (w: Error) => w.name === 'MaxListenersExceededWarning' && warnings.push(w);
      process.on('warning', onWarning);
      const transport = new StreamableHTTPClientTransport(new URL(example.url), { fetch: isolatedAbortFetch() });
      const client = new Client({ name: 'test', version: '1' });
      try {
        await client.connect(transport);
        let next = 0;
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            while (next < 300) await client.callTool({ name: 'echo', arguments: { text: `t${next++}` } });
          }),
        );
        // The transport's own controller (private in the SDK): the signal every request is handed.
        const signal = (transport as unknown as { _abortController?: AbortController })._abortController?.signal;
        expect(signal, 'the SDK still shares one controller per transport').to.be.instanceOf(AbortSignal);
        expect(listeners(signal!)).to.be.at.most(1);
        expect(warnings).to.deep.equal([]);
      } finally {
        process.off('warning', onWarning);
        await client.close();
      }
    });
  });
});
