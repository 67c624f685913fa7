import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type CountingRpcProxy = {
  url: string;
  /** How many calls of `method` went through (a JSON-RPC batch counts each of its calls). */
  count(method: string): number;
  /** How many HTTP requests carried a call of `method` (a JSON-RPC batch of many such calls is one). */
  requests(method: string): number;
  /** The most calls of `method` forwarded and not yet answered at any one time. */
  maxInFlight(method: string): number;
  reset(): void;
  /** From now on answer `eth_chainId` (and `net_version`) with this chain id, as an RPC URL pointed at another chain's node does; undefined: the node's own. */
  serveChainId(chainId: number | undefined): void;
  /** From now on answer each call of these methods (forwarding none of them) with this JSON-RPC error, as a hosted RPC over its rate limit or quota does (HTTP 200); no methods: stop. */
  refuse(methods: string[], error?: { code: number; message: string }, only?: (call: { method: string; params?: unknown[] }) => boolean): void;
  /** From now on answer a JSON-RPC batch request (an array) with one error and no answers, forwarding none of it, as a hosted RPC that takes no batches does; undefined: stop. */
  refuseBatches(error: { code: number; message: string } | undefined): void;
  /** From now on answer a request with a call of these methods with this HTTP status and body, as a hosted RPC that forbids a method does; no methods: stop. */
  refuseHttp(methods: string[], status?: number, body?: string): void;
  /** From now on pass each result of `method` through `change` (as a node of another kind answers it); undefined: the node's own. */
  edit(method: string, change: ((result: unknown) => unknown) | undefined): void;
  close(): Promise<void>;
};

/**
 * A JSON-RPC HTTP proxy in front of a real node that forwards every request and counts the calls
 * by method. `delayMs` holds a request back before forwarding it when it has a call of that method
 * (a slow node or network: e.g. `{ eth_sendRawTransaction: 300 }` widens the window between a
 * sender's nonce read and its broadcast reaching the node). `nullFirst` answers `result: null` to
 * the first n calls of a method (forwarded all the same), as a backend behind a load balancer that
 * has not seen a transaction yet: e.g. `{ eth_getTransactionByHash: 1 }`.
 */
export async function startCountingProxy(target: string, opts: { delayMs?: Record<string, number>; nullFirst?: Record<string, number> } = {}): Promise<CountingRpcProxy> {
  const counts = new Map<string, number>();
  const requests = new Map<string, number>();
  const inFlight = new Map<string, number>();
  const maxInFlight = new Map<string, number>();
  const nulls = new Map(Object.entries(opts.nullFirst ?? {}));
  let servedChainId: number | undefined;
  type Call = { id?: unknown; method?: string; params?: unknown[] };
  let refused: { methods: Set<string>; error: { code: number; message: string }; only?: (call: { method: string; params?: unknown[] }) => boolean } = { methods: new Set(), error: { code: -32005, message: 'request rate limited' } };
  const isRefused = (c: Call) => refused.methods.has(String(c.method)) && (!refused.only || refused.only({ method: String(c.method), params: c.params }));
  let batchesRefused: { code: number; message: string } | undefined;
  let refusedHttp: { methods: Set<string>; status: number; body: string } = { methods: new Set(), status: 403, body: 'forbidden' };
  const edits = new Map<string, (result: unknown) => unknown>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      try {
        const calls = [JSON.parse(body)].flat() as Call[];
        const methods = calls.map((c) => String(c.method));
        for (const m of methods) counts.set(m, (counts.get(m) ?? 0) + 1);
        for (const m of new Set(methods)) requests.set(m, (requests.get(m) ?? 0) + 1);
        const blank = new Set<unknown>();
        for (const c of calls) {
          const left = nulls.get(String(c.method)) ?? 0;
          if (left > 0) (nulls.set(String(c.method), left - 1), blank.add(c.id));
        }
        if (calls.some((c) => refusedHttp.methods.has(String(c.method)))) {
          res.writeHead(refusedHttp.status, { 'content-type': 'text/plain' });
          return void res.end(refusedHttp.body);
        }
        if (batchesRefused && Array.isArray(JSON.parse(body))) {
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify({ jsonrpc: '2.0', id: null, error: batchesRefused }));
        }
        if (calls.some(isRefused)) {
          // Refused calls are answered here; the others of a batch still reach the node.
          const passed = calls.filter((c) => !isRefused(c));
          const answers = passed.length ? [(await (await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(passed) })).json()) as unknown[]].flat() : [];
          const byId = new Map((answers as { id?: unknown }[]).map((a) => [a.id, a]));
          const all = calls.map((c) => (isRefused(c) ? { jsonrpc: '2.0', id: c.id, error: refused.error } : byId.get(c.id)));
          res.writeHead(200, { 'content-type': 'application/json' });
          return void res.end(JSON.stringify(Array.isArray(JSON.parse(body)) ? all : all[0]));
        }
        const delay = Math.max(0, ...methods.map((m) => opts.delayMs?.[m] ?? 0));
        if (delay) await new Promise((r) => setTimeout(r, delay));
        const track = (d: number) => {
          for (const m of methods) {
            inFlight.set(m, (inFlight.get(m) ?? 0) + d);
            maxInFlight.set(m, Math.max(maxInFlight.get(m) ?? 0, inFlight.get(m)!));
          }
        };
        track(1);
        let answer: Response;
        let text: string;
        try {
          answer = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          text = await answer.text();
        } finally {
          track(-1);
        }
        if (servedChainId !== undefined) {
          for (const c of calls) if (c.method === 'eth_chainId' || c.method === 'net_version') blank.add(c.id);
        }
        for (const c of calls) if (c.method && edits.has(c.method)) blank.add(c.id);
        if (blank.size) {
          const answerOf = (id: unknown) => {
            const method = calls.find((c) => c.id === id)?.method;
            if (servedChainId !== undefined && method === 'eth_chainId') return `0x${servedChainId.toString(16)}`;
            if (servedChainId !== undefined && method === 'net_version') return String(servedChainId);
            return null;
          };
          const blanked = (r: { id?: unknown; result?: unknown }) => {
            if (!blank.has(r.id)) return r;
            const method = calls.find((c) => c.id === r.id)?.method;
            const change = method === undefined ? undefined : edits.get(method);
            return change && !('error' in r) ? { ...r, result: change(r.result) } : { ...r, result: answerOf(r.id) };
          };
          const parsed = JSON.parse(text) as { id?: unknown } | { id?: unknown }[];
          text = JSON.stringify(Array.isArray(parsed) ? parsed.map(blanked) : blanked(parsed));
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
    count: (method) => counts.get(method) ?? 0,
    requests: (method) => requests.get(method) ?? 0,
    maxInFlight: (method) => maxInFlight.get(method) ?? 0,
    reset: () => (counts.clear(), requests.clear(), maxInFlight.clear()),
    serveChainId: (chainId) => (servedChainId = chainId),
    refuse: (methods, error = refused.error, only) => (refused = { methods: new Set(methods), error, only }),
    refuseBatches: (error) => (batchesRefused = error),
    refuseHttp: (methods, status = 403, body = 'forbidden') => (refusedHttp = { methods: new Set(methods), status, body }),
    edit: (method, change) => void (change ? edits.set(method, change) : edits.delete(method)),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
