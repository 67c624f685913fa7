import { expect } from 'chai';
import net from 'node:net';
import { createRpcProvider, RPC_TIMEOUT_MS } from '../../src/web3/provider';

/** A JSON-RPC URL whose server accepts connections and never answers (a stalled node). */
describe('RPC provider against a node that never answers', function () {
  this.timeout(30_000);
  let server: net.Server;
  let url: string;
  const sockets = new Set<net.Socket>();
  before(async () => {
    server = net.createServer((s) => void sockets.add(s.on('error', () => undefined)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('fails a request with TIMEOUT after its timeout (was: ethers\' 5 minutes, whatever was asked)', async () => {
    const provider = createRpcProvider(url, { timeoutMs: 300 });
    try {
      const err = await provider.send('eth_blockNumber', []).then(() => undefined, (e: { code?: string }) => e);
      expect(err?.code).to.equal('TIMEOUT');
    } finally {
      provider.destroy();
    }
  });

  it('waits 30 s by default', () => {
    const provider = createRpcProvider(url);
    try {
      expect(provider._getConnection().timeout).to.equal(RPC_TIMEOUT_MS).and.to.equal(30_000);
    } finally {
      provider.destroy();
    }
  });
});
