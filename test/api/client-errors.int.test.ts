import { expect } from 'chai';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { clientErrorResponse } from '../../src/api/client-error';
import { OpenMcpClient, ValidationApiError } from '../../src/sdk';
import { makeHarness, type Harness } from './support/harness';

/** One raw exchange: what a client that is not a well-behaved HTTP library sends, and the whole answer. */
function exchange(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.end(raw));
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('close', () => resolve(out));
    s.on('error', reject);
  });
}

function parse(answer: string): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const [head, body] = answer.split('\r\n\r\n');
  const [statusLine, ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) };
}

/**
 * Requests the HTTP parser refuses before fastify routes them (not HTTP, conflicting
 * Content-Length, headers over 16 KiB) are answered as every other error is: a problem with a code
 * (docs/errors.md). They were fastify's own {"error","message","statusCode"} as application/json,
 * which a client (the SDK included) could not read as a problem.
 */
describe('REST: requests the HTTP parser refuses are problems too', () => {
  let h: Harness;
  let port: number;

  before(async () => {
    h = await makeHarness();
    await h.app.listen({ host: '127.0.0.1', port: 0 });
    port = (h.app.server.address() as AddressInfo).port;
  });
  after(() => h.close());

  for (const [what, raw, status] of [
    ['not HTTP', 'GARBAGE\r\n\r\n', 400],
    ['two Content-Length headers', 'POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 400],
    ['headers over 16 KiB', `GET /v1/tasks HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    // Node answered it itself: a bare 400, no body, no request id (RFC 9112 requires the refusal, not its silence).
    ['an HTTP/1.1 request without Host', 'GET /v1/tasks HTTP/1.1\r\n\r\n', 400],
  ] as const) {
    it(`${what}: ${status} MALFORMED_REQUEST as application/problem+json with a request id`, async () => {
      const res = parse(await exchange(port, raw));
      expect(res.status).to.equal(status);
      expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
      expect(res.body).to.include({ status, code: 'MALFORMED_REQUEST' });
      expect(res.body.type).to.equal('https://openmcp.dev/errors#malformed_request');
      expect(res.body.title).to.equal(status === 431 ? 'Request Header Fields Too Large' : 'Bad Request');
      expect(res.headers['x-request-id']).to.equal(res.body.requestId);
      expect(res.headers.connection).to.equal('close');
    });
  }

  it('an HTTP/1.1 request without Host names the header (field headers.host); to /mcp in JSON-RPC, as its other refusals; HTTP/1.0 needs none', async () => {
    const rest = parse(await exchange(port, 'GET /v1/tasks HTTP/1.1\r\n\r\n'));
    expect(rest.body).to.include({ field: 'headers.host', detail: 'headers.host: an HTTP/1.1 request must name its Host (RFC 9112)' });
    const mcp = parse(await exchange(port, 'POST /mcp HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}'));
    expect(mcp.status).to.equal(400);
    expect(mcp.headers['content-type']).to.match(/^application\/json/);
    expect(mcp.body).to.deep.equal({ jsonrpc: '2.0', error: { code: -32001, message: 'headers.host: an HTTP/1.1 request must name its Host (RFC 9112)', data: { code: 'MALFORMED_REQUEST' } }, id: null });
    const old = parse(await exchange(port, 'GET /healthz HTTP/1.0\r\n\r\n'));
    expect(old.status).to.equal(200);
  });

  it('pipelined behind a valid request, a malformed one is refused after that request is answered, not in its place', async () => {
    const answer = await exchange(port, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGARBAGE\r\n\r\n');
    // The first answer is the health check's; the refusal follows it, then the connection closes.
    expect(answer.startsWith('HTTP/1.1 200 '), answer.slice(0, 80)).to.equal(true);
    const second = answer.indexOf('HTTP/1.1 400 ');
    expect(second, answer).to.be.greaterThan(0);
    const res = parse(answer.slice(second));
    expect(res.body).to.include({ status: 400, code: 'MALFORMED_REQUEST' });
    expect(res.headers.connection).to.equal('close');
  });

  it('a request whose own body is malformed (a bad chunk) gets the refusal alone, at once, whatever its route would have answered', async () => {
    const res = parse(await exchange(port, 'POST /v1/tasks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n\r\n'));
    expect(res.status).to.equal(400);
    expect(res.body).to.include({ status: 400, code: 'MALFORMED_REQUEST' });
  });

  it('the SDK reads the 431 as a typed error (ValidationApiError MALFORMED_REQUEST), not SDK_RESPONSE_INVALID', async () => {
    const client = new OpenMcpClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: 'x'.repeat(20_000), retries: 0 });
    const err = await client.tasks.list().then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(ValidationApiError);
    expect(err).to.include({ code: 'MALFORMED_REQUEST', status: 431 });
  });

  it('times out headers only, as docs/errors.md says: 60 s for the headers, no limit on the body', () => {
    expect(h.app.server.headersTimeout).to.equal(60_000);
    expect(h.app.server.requestTimeout).to.equal(0);
  });

  it('a request whose headers never end in time: 408 REQUEST_TIMEOUT (the answer node writes for ERR_HTTP_REQUEST_TIMEOUT)', () => {
    const res = parse(clientErrorResponse('ERR_HTTP_REQUEST_TIMEOUT', 'r1'));
    expect(res.status).to.equal(408);
    expect(res.body).to.include({ status: 408, title: 'Request Timeout', code: 'REQUEST_TIMEOUT', requestId: 'r1' });
    expect(Number(res.headers['content-length'])).to.equal(Buffer.byteLength(JSON.stringify(res.body)));
  });
});
