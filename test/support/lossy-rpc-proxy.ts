import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type LossyRpcProxy = {
  url: string;
  /** Broadcasts forwarded to the node whose answer was then dropped. */
  dropped: number;
  close(): Promise<void>;
};

/**
 * How the proxy loses a broadcast's answer: `drop` the client's connection, or answer
 * `internal-error` (JSON-RPC -32603, as a gateway whose upstream timed out).
 */
export type LossMode = 'drop' | 'internal-error';

/**
 * A JSON-RPC HTTP proxy in front of a real node that forwards every request, but for
 * `eth_sendRawTransaction` throws the node's answer away (see LossMode): the transaction went
 * out, the client cannot know it. Only the first `drops` broadcasts are lost; later ones pass through.
 */
export async function startLossyProxy(target: string, mode: LossMode = 'drop', drops = 1): Promise<LossyRpcProxy> {
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
          if (mode === 'drop') return void req.socket.destroy();
          // The node's answers, with the broadcast's replaced by the error (ethers batches requests).
          const sent = new Set(calls.filter((c) => c.method === 'eth_sendRawTransaction').map((c) => (c as { id?: unknown }).id));
          const lose = (a: { id?: unknown }) => (sent.has(a.id) ? { jsonrpc: '2.0', id: a.id, error: { code: -32603, message: 'upstream request timed out' } } : a);
          const answers = JSON.parse(text) as { id?: unknown } | { id?: unknown }[];
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify(Array.isArray(answers) ? answers.map(lose) : lose(answers)));
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
