import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chainReadProblem } from '../../src/proofs/rpc-unreachable';
import { verifyBatchExport } from '../../src/proofs/verify-batch';

/** A verifier that finds no node at its RPC URL says what to pass (it said only "connect ECONNREFUSED 127.0.0.1:8545"). */
describe('openmcp verify / verify-batch with no chain at the RPC URL', () => {
  it('names the URL and --rpc, with the chain the proof was anchored on', () => {
    const said = chainReadProblem(new Error('connect ECONNREFUSED 127.0.0.1:8545'), 'http://127.0.0.1:8545', 31337);
    expect(said).to.equal('connect ECONNREFUSED 127.0.0.1:8545: no JSON-RPC node answers at http://127.0.0.1:8545/; pass --rpc with the URL of a node of chain 31337, where the batch was anchored');
  });

  it('masks a key in the URL it names, and leaves other errors as they were', () => {
    expect(chainReadProblem(new Error('getaddrinfo ENOTFOUND mainnet.example'), 'https://mainnet.example/v3/abcdef0123456789abcdef0123')).to.contain('https://mainnet.example/v3/***;');
    expect(chainReadProblem(new Error('could not decode result data'), 'http://127.0.0.1:8545', 1)).to.equal('could not decode result data');
  });

  it('verify-batch against a closed port reports it in its root check', async function () {
    this.timeout(60_000);
    const results = await verifyBatchExport({ batchId: 0, events: [], rpcUrl: 'http://127.0.0.1:1', contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' });
    const root = results.find((r) => r.name === 'root');
    expect(root?.ok).to.equal(false);
    expect(root?.detail).to.match(/no JSON-RPC node answers at http:\/\/127\.0\.0\.1:1\/; pass --rpc/);
  });
});

/**
 * A URL where something else than a JSON-RPC node answers (the gateway's own port, a hosted RPC
 * refusing the key, a web page) was reported in ethers' words: "server response 404 Not Found
 * (request={  }, response={  }, error=null, info={ "requestUrl": …" cut at 200 characters.
 */
describe('openmcp verify / verify-batch where something else than a JSON-RPC node answers', () => {
  let server: Server;
  let url: string;
  let answer: (body: string) => { status: number; type: string; body: string };
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        const a = answer(body);
        res.writeHead(a.status, { 'content-type': a.type });
        res.end(a.body);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => server.close());

  const rootDetail = async () => {
    const results = await verifyBatchExport({ batchId: 0, events: [], rpcUrl: url, contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' });
    return results.find((r) => r.name === 'root')?.detail;
  };
  const tail = 'pass --rpc with the URL of a node of the chain the batch was anchored on';

  it('an HTTP error status: names it, and the start of the body (a hosted RPC says why it refused the key)', async () => {
    answer = () => ({ status: 401, type: 'application/json', body: '{"error":"invalid project id"}' });
    expect(await rootDetail()).to.equal(`cannot read batch 0 from 0x5FbDB2315678afecb367f032d93F642f64180aa3: ${url} answered HTTP 401 Unauthorized ("{\\"error\\":\\"invalid project id\\"}"), not as a JSON-RPC node does: ${tail}`);
    answer = () => ({ status: 404, type: 'application/problem+json', body: '{"type":"https://openmcp.dev/errors#route_not_found"}' });
    expect(await rootDetail()).to.match(/answered HTTP 404 Not Found \("\{.*route_not_found.*"\), not as a JSON-RPC node does: pass --rpc/);
  });

  it('a page that is not JSON', async () => {
    answer = () => ({ status: 200, type: 'text/html', body: '<html>hello</html>' });
    expect(await rootDetail()).to.equal(`cannot read batch 0 from 0x5FbDB2315678afecb367f032d93F642f64180aa3: ${url} answered with something that is not JSON, not as a JSON-RPC node does: ${tail}`);
  });

  it('a JSON-RPC error answer: the method refused and the node\'s own words', async () => {
    answer = (body) => {
      const one = (r: { id: number }) => ({ jsonrpc: '2.0', id: r.id, error: { code: -32601, message: 'the method eth_chainId does not exist' } });
      const req = JSON.parse(body);
      return { status: 200, type: 'application/json', body: JSON.stringify(Array.isArray(req) ? req.map(one) : one(req)) };
    };
    expect(await rootDetail()).to.equal(`cannot read batch 0 from 0x5FbDB2315678afecb367f032d93F642f64180aa3: the node at ${url} refused eth_chainId: -32601 the method eth_chainId does not exist`);
  });

  it('no URL at all (CHAIN_PORT=abc made it http://127.0.0.1:abc; it said "Invalid URL")', async () => {
    const results = await verifyBatchExport({ batchId: 0, events: [], rpcUrl: 'http://127.0.0.1:abc', contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' });
    expect(results.find((r) => r.name === 'root')?.detail).to.equal(`cannot read batch 0 from 0x5FbDB2315678afecb367f032d93F642f64180aa3: http://127.0.0.1:abc is not a URL: ${tail}`);
  });

  it('a URL of another scheme', async () => {
    const results = await verifyBatchExport({ batchId: 0, events: [], rpcUrl: 'ftp://127.0.0.1/', contract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' });
    expect(results.find((r) => r.name === 'root')?.detail).to.equal(`cannot read batch 0 from 0x5FbDB2315678afecb367f032d93F642f64180aa3: ftp://127.0.0.1/ is not an http:// or https:// URL: ${tail}`);
  });
});
