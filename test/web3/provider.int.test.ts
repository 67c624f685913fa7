import { expect } from 'chai';
import http from 'node:http';
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

/**
 * A node (or the proxy before it) that closes an idle kept-alive connection: the close reaches the
 * client only after its next request went out on that connection, which then ends unanswered
 * ("socket hang up"). Seen in CI on the chain-reset test, whose relay cuts connections on a switch.
 */
describe('RPC provider over a kept-alive connection the node has just closed', function () {
  this.timeout(30_000);
  let server: http.Server;
  let url: string;
  const served = new WeakMap<net.Socket, number>();
  const sockets = new Set<net.Socket>();
  let answered = 0;
  let cut = 0;
  /** Cut, unanswered, the next requests that arrive on a connection which already served one. */
  let cutNextReused: boolean | number = false;
  /** Hold answers until this many requests wait, then answer them all (requests in flight together). */
  let answerTogether = 0;
  let waiting: (() => void)[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      const n = served.get(req.socket) ?? 0;
      served.set(req.socket, n + 1);
      if (cutNextReused && n > 0) {
        cutNextReused = typeof cutNextReused === 'number' && cutNextReused > 1 ? cutNextReused - 1 : false;
        cut++;
        req.socket.destroy();
        return;
      }
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        answered++;
        const answer = (m: { id: number; method: string }) => ({ jsonrpc: '2.0', id: m.id, result: m.method === 'eth_chainId' ? '0x7a69' : '0x10' });
        const parsed = JSON.parse(body) as { id: number; method: string } | { id: number; method: string }[];
        res.setHeader('content-type', 'application/json');
        const send = () => res.end(JSON.stringify(Array.isArray(parsed) ? parsed.map(answer) : answer(parsed)));
        if (answerTogether === 0) return void setTimeout(send, 20);
        waiting.push(send);
        if (waiting.length < answerTogether) return;
        const all = waiting;
        [waiting, answerTogether] = [[], 0];
        for (const go of all) go();
      });
    });
    server.keepAliveTimeout = 60_000;
    server.on('connection', (s) => void sockets.add(s.on('close', () => sockets.delete(s))));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('sends the request again on a new connection, once, rather than fail it ("socket hang up")', async () => {
    const provider = createRpcProvider(url);
    try {
      expect(await provider.getBlockNumber()).to.equal(16);
      for (let i = 0; i < 3; i++) {
        await provider.send('eth_blockNumber', []); // the connection kept alive (the last one was closed)
        cutNextReused = true;
        const [before, cutBefore] = [answered, cut];
        expect(await provider.send('eth_blockNumber', []), `round ${i}`).to.equal('0x10');
        expect(cut - cutBefore, 'the kept-alive connection was cut').to.equal(1);
        expect(answered - before, 'answered on a new connection').to.equal(1);
      }
    } finally {
      provider.destroy();
    }
  });

  it('sends it again on a new connection, not on another kept-alive one the node has closed as well', async () => {
    const provider = createRpcProvider(url);
    try {
      expect(await provider.getBlockNumber()).to.equal(16);
      // Two requests in flight at once (neither answered before both arrived, however slow the
      // machine): two connections kept alive.
      answerTogether = 2;
      const tick = () => new Promise((r) => setTimeout(r, 5));
      await Promise.all([provider.send('eth_blockNumber', []), tick().then(() => provider.send('eth_blockNumber', []))]);
      expect(sockets.size).to.be.at.least(2);
      cutNextReused = 2;
      const [before, cutBefore] = [answered, cut];
      expect(await provider.send('eth_blockNumber', [])).to.equal('0x10');
      expect(cut - cutBefore).to.equal(1);
      expect(answered - before).to.equal(1);
    } finally {
      cutNextReused = false;
      provider.destroy();
    }
  });

  it('does not send a transaction again (it may have been taken before the cut): its sender decides, "maybe sent"', async () => {
    const provider = createRpcProvider(url);
    try {
      expect(await provider.getBlockNumber()).to.equal(16);
      cutNextReused = true;
      const before = cut + answered;
      const err = await provider.send('eth_sendRawTransaction', ['0x02']).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err?.code, String(err)).to.equal('ECONNRESET');
      expect(cut + answered - before, 'sent once').to.equal(1);
    } finally {
      cutNextReused = false;
      provider.destroy();
    }
  });

  it('fails a request whose new connection is cut too, with the network error', async () => {
    const provider = createRpcProvider(url);
    const onConnection = (s: net.Socket) => void s.destroy();
    try {
      expect(await provider.getBlockNumber()).to.equal(16);
      cutNextReused = true;
      server.prependListener('connection', onConnection);
      const err = await provider.send('eth_blockNumber', []).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err?.code, String(err)).to.equal('ECONNRESET');
    } finally {
      server.off('connection', onConnection);
      cutNextReused = false;
      provider.destroy();
    }
  });

  it('does not send again a request that timed out (the node may be working on it)', async () => {
    let calls = 0;
    const silent = net.createServer((s) => void (calls++, s.on('error', () => undefined)));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const provider = createRpcProvider(`http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, { timeoutMs: 300 });
    try {
      const err = await provider.send('eth_blockNumber', []).then(() => undefined, (e: { code?: string }) => e);
      expect(err?.code).to.equal('TIMEOUT');
      expect(calls).to.equal(1);
    } finally {
      provider.destroy();
      silent.close();
    }
  });
});
