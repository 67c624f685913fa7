import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRpcProvider } from '../../src/web3/provider';

/**
 * While CHAIN_RPC_URL is down at start, ethers' provider retries its network detection every
 * second and wrote a plain line to stdout each time ("JsonRpcProvider failed to detect network and
 * cannot start up; retry in 1s …"): not JSON, not through the logger. Detection is still retried
 * (so the provider starts once the node answers), without that line.
 */
describe('RPC provider while the node is down at start', function () {
  this.timeout(30_000);

  it('retries network detection without writing to stdout, and answers once the node is up (was: a console line each second)', async () => {
    let up = false;
    let chainIdAsked = 0;
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += String(c)));
      req.on('end', () => {
        const calls = [JSON.parse(body)].flat() as { id: number; method: string }[];
        chainIdAsked += calls.filter((c) => c.method === 'eth_chainId').length;
        if (!up) return void res.writeHead(503).end('down');
        const result = (m: string) => (m === 'eth_chainId' ? '0x7a69' : m === 'eth_blockNumber' ? '0x5' : null);
        const answers = calls.map((c) => ({ jsonrpc: '2.0', id: c.id, result: result(c.method) }));
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(Array.isArray(JSON.parse(body)) ? answers : answers[0]));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const printed: unknown[][] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void printed.push(args);
    const provider = createRpcProvider(url, { timeoutMs: 2000 });
    try {
      await provider.send('eth_blockNumber', []).catch(() => undefined);
      // The start's detection is tried again and again while the node is down.
      while (chainIdAsked < 3) await new Promise((r) => setTimeout(r, 50));
      up = true;
      expect(await provider.getBlockNumber()).to.equal(5);
    } finally {
      console.log = log;
      provider.destroy();
      await new Promise((r) => server.close(r));
    }
    expect(printed.map((a) => a.map(String).join(' '))).to.deep.equal([]);
  });
});
