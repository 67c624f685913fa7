import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type LossyRpcProxy = {
  url: string;
  /** Broadcasts forwarded to the node whose answer was then dropped. */
  dropped: number;
  close(): Promise<void>;
};

/**
 * A JSON-RPC HTTP proxy in front of a real node that forwards every request, but for
 * `eth_sendRawTransaction` throws the node's answer away and drops the client's connection: the
 * transaction went out, the client cannot know it (a connection lost after sending).
 * Only the first `drops` broadcasts are dropped; later ones pass through.
 */
export async function startLossyProxy(target: string, drops = 1): Promise<LossyRpcProxy> {
  const state = { dropped: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        const answer = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        const text = await answer.text();
        const calls = [JSON.parse(body)].flat() as { method?: string }[];
        if (calls.some((c) => c.method === 'eth_sendRawTransaction') && state.dropped < drops) {
          state.dropped++;
          req.socket.destroy();
          return;
        }
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(text);
      } catch {
        req.socket.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get dropped() {
      return state.dropped;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
