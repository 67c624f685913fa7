import { expect } from 'chai';
import { createServer, type Server, type Socket } from 'node:net';
import { clientFromEnvironment, OpenMcpClient } from '../../src/sdk';

async function failure(p: Promise<unknown>): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await p;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected a rejection');
}

describe('SDK transport failures: bounded, and without secrets', function () {
  this.timeout(10_000);

  // fetch refuses a URL holding credentials, so every call failed SDK_CONNECTION_FAILED after its retries, no server asked.
  it('a base URL with a user name and password: SDK_URL_INVALID at once, naming it with the password masked, nothing sent', async () => {
    let fetched = 0;
    const fetch = (async () => (fetched++, new Response('{}'))) as typeof globalThis.fetch;
    const err = await failure(new OpenMcpClient({ baseUrl: 'http://alice:s3cretpw@127.0.0.1:1', fetch }).health());
    expect(err.code).to.equal('SDK_URL_INVALID');
    expect(err.message).to.equal('baseUrl http://***:***@127.0.0.1:1/ holds credentials (user:password@), which fetch will not send: the gateway takes an API key (Authorization: Bearer), not credentials in its URL; remove them and give the key as the API key (apiKey; OPENMCP_API_KEY for the CLI)');
    expect(err.cause).to.equal(undefined);
    expect(fetched).to.equal(0);
    // The CLI's client names the variable it came from.
    const cli = await failure(clientFromEnvironment({ env: { OPENMCP_URL: 'http://alice:s3cretpw@127.0.0.1:1' } }).tasks.list());
    expect(cli.code).to.equal('SDK_URL_INVALID');
    expect(cli.message).to.equal('OPENMCP_URL http://***:***@127.0.0.1:1/ holds credentials (user:password@), which fetch will not send: the gateway takes an API key (Authorization: Bearer), not credentials in its URL; remove them and give the key as the API key (apiKey; OPENMCP_API_KEY for the CLI)');
    // A URL that is none, or not http(s): said at once too, not after retries as a connection failure.
    expect((await failure(clientFromEnvironment({ env: { OPENMCP_URL: '127.0.0.1:8080' } }).tasks.list())).message).to.equal('OPENMCP_URL 127.0.0.1:8080 is not an http(s) URL (e.g. http://127.0.0.1:8080)');
    expect((await failure(new OpenMcpClient({ baseUrl: 'not a url', fetch }).health())).code).to.equal('SDK_URL_INVALID');
    // Without a scheme, `alice:s3cretpw@host` parses as a URL of scheme `alice:` whose path holds the
    // password: nothing before the last @ is shown.
    for (const bad of ['alice:s3cretpw@127.0.0.1:8080', 'http//alice:s3cretpw@127.0.0.1:8080', 'mysql://alice:s3cretpw@127.0.0.1:8080']) {
      const e = await failure(clientFromEnvironment({ env: { OPENMCP_URL: bad } }).tasks.list());
      expect(e.code, bad).to.equal('SDK_URL_INVALID');
      expect(e.message, bad).to.not.include('s3cretpw');
      expect(e.message, bad).to.include('@127.0.0.1:8080');
    }
    expect(fetched).to.equal(0);
  });

  describe('a server that accepts the connection and never answers', () => {
    let server: Server;
    const sockets = new Set<Socket>();
    let baseUrl: string;
    before(async () => {
      server = createServer((s) => (sockets.add(s), s.on('close', () => sockets.delete(s))));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    after(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    });

    it('fails with SDK_CONNECTION_FAILED after timeoutMs per attempt instead of hanging', async () => {
      const err = await failure(new OpenMcpClient({ baseUrl, timeoutMs: 100, retries: 1, maxRetryDelayMs: 10 }).tasks.list());
      expect(err.code).to.equal('SDK_CONNECTION_FAILED');
      expect(err.message).to.include('no answer within 100 ms');
    });
  });

  it('fails with SDK_CONNECTION_FAILED when the answer stops coming after its headers', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((s) => {
      sockets.add(s);
      s.once('data', () => s.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"items":'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const err = await failure(new OpenMcpClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 150, retries: 0 }).tasks.list());
      expect(err.code).to.equal('SDK_CONNECTION_FAILED');
      expect(err.message).to.include(`127.0.0.1:${port}`);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    }
  });
});
