import { expect } from 'chai';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chainReadiness } from '../../src/web3/chain-readiness';

describe('chainReadiness (the chain line of /readyz)', () => {
  let server: http.Server;
  let base: string;
  const seen: (string | undefined)[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      const ok = req.headers.authorization === `Basic ${Buffer.from('rpc:p@ss').toString('base64')}`;
      res.writeHead(200, { 'content-type': 'application/json' });
      // A provider that refuses the caller answers 200 with a JSON-RPC error.
      res.end(JSON.stringify(ok ? { jsonrpc: '2.0', id: 1, result: '0xaa36a7' } : { jsonrpc: '2.0', id: 1, error: { code: -32001, message: 'unauthorized' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it('reaches a node behind basic auth with the URL\'s user name and password (was: down, "Request cannot be constructed from a URL that includes credentials")', async () => {
    const r = await chainReadiness({ rpcUrl: `http://rpc:p%40ss@${base}/`, contract: '0xabc' });
    expect(r).to.deep.equal({ state: 'up', detail: 'chain 11155111, AuditAnchor at 0xabc' });
  });

  it('with CHAIN_ID, is down when the RPC serves another chain, naming both ids (was: up, while the anchorer refused every round)', async () => {
    const rpcUrl = `http://rpc:p%40ss@${base}/`;
    expect(await chainReadiness({ rpcUrl, contract: '0xabc', chainId: 1 })).to.deep.equal({ state: 'down', detail: 'CHAIN_ID is 1 but CHAIN_RPC_URL serves chain 11155111: nothing is anchored there' });
    expect(await chainReadiness({ rpcUrl, contract: '0xabc', chainId: 11155111 })).to.deep.equal({ state: 'up', detail: 'chain 11155111, AuditAnchor at 0xabc' });
  });

  it('without CHAIN_ID, is down when the RPC serves another chain than the one the anchorer started on, naming both (was: up, while the anchorer refused every round)', async () => {
    const rpcUrl = `http://rpc:p%40ss@${base}/`;
    expect(await chainReadiness({ rpcUrl, contract: '0xabc', startedOn: () => 1 })).to.deep.equal({
      state: 'down',
      detail: 'CHAIN_RPC_URL served chain 1 when the anchorer started and now serves chain 11155111: nothing is anchored there (point it back, or set CHAIN_ID=11155111 and restart)',
    });
    // Before the anchorer's first contact there is nothing to compare with; CHAIN_ID, when set, speaks.
    expect((await chainReadiness({ rpcUrl, contract: '0xabc', startedOn: () => undefined })).state).to.equal('up');
    expect((await chainReadiness({ rpcUrl, contract: '0xabc', startedOn: () => 11155111 })).state).to.equal('up');
    expect((await chainReadiness({ rpcUrl, contract: '0xabc', chainId: 1, startedOn: () => 11155111 })).detail).to.equal('CHAIN_ID is 1 but CHAIN_RPC_URL serves chain 11155111: nothing is anchored there');
  });

  it('is down on a JSON-RPC error, naming it (was: up on any HTTP 200)', async () => {
    const r = await chainReadiness({ rpcUrl: `http://${base}/`, contract: '0xabc' });
    expect(r).to.deep.equal({ state: 'down', detail: 'JSON-RPC error: unauthorized' });
    expect(seen.at(-1)).to.equal(undefined);
  });
});
