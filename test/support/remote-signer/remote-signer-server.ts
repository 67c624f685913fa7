import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Wallet } from 'ethers';

export type RemoteSignerServer = {
  url: string;
  address: string;
  calls: string[];
  /** Answer eth_signTransaction only after `ms` (a signer waiting on a human to confirm). */
  setDelay(ms: number): void;
  /** Sign EIP-1559 transactions with this max fee per gas instead of the one asked (Clef lets its user edit the fees). */
  setMaxFeePerGas(wei: bigint | undefined): void;
  close(): Promise<void>;
};

type TxParams = Record<string, string | undefined>;

const big = (v?: string) => (v === undefined ? undefined : BigInt(v));

/**
 * A JSON-RPC signing service as Web3Signer's eth1 API offers it: `eth_accounts` and
 * `eth_signTransaction` (returns the raw signed transaction). It holds one key and never
 * broadcasts. `clefStyle` answers `{raw, tx}` as Clef does.
 */
export async function startRemoteSigner(privateKey: string, opts: { clefStyle?: boolean } = {}): Promise<RemoteSignerServer> {
  const wallet = new Wallet(privateKey);
  const calls: string[] = [];
  let delayMs = 0;
  let maxFeePerGas: bigint | undefined;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const { id, method, params } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: number; method: string; params: unknown[] };
      calls.push(method);
      const reply = (body: Record<string, unknown>) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ jsonrpc: '2.0', id, ...body }));
      };
      try {
        if (method === 'eth_accounts') return reply({ result: [wallet.address.toLowerCase()] });
        if (method !== 'eth_signTransaction') return reply({ error: { code: -32601, message: `method ${method} not found` } });
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
        const p = params[0] as TxParams;
        if (p.from?.toLowerCase() !== wallet.address.toLowerCase()) return reply({ error: { code: -32000, message: `unknown account ${p.from}` } });
        const raw = await wallet.signTransaction({
          type: p.type === '0x2' ? 2 : 0,
          chainId: big(p.chainId),
          nonce: Number(p.nonce),
          to: p.to,
          data: p.data,
          value: big(p.value),
          gasLimit: big(p.gas),
          ...(p.type === '0x2' ? { maxFeePerGas: maxFeePerGas ?? big(p.maxFeePerGas), maxPriorityFeePerGas: big(p.maxPriorityFeePerGas) } : { gasPrice: big(p.gasPrice) }),
        });
        return reply({ result: opts.clefStyle ? { raw, tx: p } : raw });
      } catch (err) {
        return reply({ error: { code: -32000, message: (err as Error).message } });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    address: wallet.address.toLowerCase(),
    calls,
    setDelay: (ms) => void (delayMs = ms),
    setMaxFeePerGas: (wei) => void (maxFeePerGas = wei),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
