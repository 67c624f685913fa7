import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type CountingRpcProxy = {
  url: string;
  /** How many calls of `method` went through (a JSON-RPC batch counts each of its calls). */
  count(method: string): number;
  reset(): void;
  close(): Promise<void>;
};

/**
 * A JSON-RPC HTTP proxy in front of a real node that forwards every request and counts the calls
 * by method. `delayMs` holds a request back before forwarding it when it has a call of that method
 * (a slow node or network: e.g. `{ eth_sendRawTransaction: 300 }` widens the window between a
 * sender's nonce read and its broadcast reaching the node).
 */
export async function startCountingProxy(target: string, opts: { delayMs?: Record<string, number> } = {}): Promise<CountingRpcProxy> {
  const counts = new Map<string, number>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        const methods = ([JSON.parse(body)].flat() as { method?: string }[]).map((c) => String(c.method));
        for (const m of methods) counts.set(m, (counts.get(m) ?? 0) + 1);
        const delay = Math.max(0, ...methods.map((m) => opts.delayMs?.[m] ?? 0));
        if (delay) await new Promise((r) => setTimeout(r, delay));
        const answer = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        res.writeHead(answer.status, { 'content-type': 'application/json' });
        res.end(await answer.text());
      } catch {
        req.socket.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    count: (method) => counts.get(method) ?? 0,
    reset: () => counts.clear(),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
