import net from 'node:net';

export type CutProxy = { port: number; down(): Promise<void>; freeze(): void; up(): Promise<void>; close(): Promise<void> };

/**
 * A TCP proxy to `host:port` whose link can be cut. `down()` is a crashed server: every
 * connection is dropped and new ones are refused (nothing listens on the port); `up()` listens
 * on the same port again. `freeze()` is a hung server: connections are accepted and kept open but
 * nothing is forwarded either way. For outage tests against a real server that other tests share.
 */
export async function cutProxy(host: string, port: number): Promise<CutProxy> {
  const sockets = new Set<net.Socket>();
  let frozen = false;
  const server = net.createServer((client) => {
    if (frozen) {
      sockets.add(client.on('error', () => client.destroy()));
      client.pause();
      return;
    }
    const upstream = net.connect(port, host);
    sockets.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => [client, upstream].forEach((s) => (s.destroy(), sockets.delete(s)));
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  const listen = (p: number) => new Promise<void>((r) => server.listen(p, '127.0.0.1', r));
  const close = () => {
    const closed = new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()));
    for (const s of sockets) s.destroy();
    return closed;
  };
  await listen(0);
  const own = (server.address() as net.AddressInfo).port;
  return {
    port: own,
    async down() {
      const closed = close();
      for (const s of sockets) s.destroy();
      await closed;
    },
    freeze() {
      frozen = true;
      // Open connections stay open, but nothing flows any more (unpiped and paused both ways).
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
    async up() {
      frozen = false;
      for (const s of sockets) s.destroy();
      if (!server.listening) await listen(own);
    },
    close,
  };
}
