import { expect } from 'chai';
import type { Socket } from 'node:net';
import Fastify from 'fastify';
import { openEventStream, type EventStreamWriter } from '../../src/ui/event-stream';

describe('openEventStream: a client that stops reading', function () {
  this.timeout(30_000);

  it('is cut off, its buffer freed, once it leaves 1 MiB unread (ending politely kept the socket and the buffer while it never read)', async () => {
    const app = Fastify();
    let opened!: (s: { stream: EventStreamWriter; socket: Socket }) => void;
    const ready = new Promise<{ stream: EventStreamWriter; socket: Socket }>((r) => (opened = r));
    app.get('/s', async (request, reply) => {
      const stream = openEventStream(reply);
      opened({ stream, socket: request.raw.socket });
    });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const ac = new AbortController();
    try {
      const res = fetch(`${base}/s`, { signal: ac.signal }).catch(() => undefined); // and never read
      const { stream, socket } = await ready;
      stream.comment('open');
      expect((await res)?.status).to.equal(200);
      const chunk = 'x'.repeat(64 * 1024);
      let sent = 0;
      // Fill the kernel's buffers, then 1 MiB of ours.
      while (stream.send('event', undefined, chunk)) {
        sent++;
        if (sent % 16 === 0) await new Promise((r) => setImmediate(r));
      }
      expect(stream.closed).to.equal(true);
      await new Promise((r) => setImmediate(r));
      expect(socket.destroyed, 'the socket of the client that does not read').to.equal(true);
    } finally {
      ac.abort();
      await app.close();
    }
  });
});
