import { expect } from 'chai';
import { createServer, type Server, type Socket } from 'node:net';
import { OpenMcpClient } from '../../src/sdk';

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

  it('never repeats credentials of the base URL, not even in the cause fetch gives', async () => {
    const err = await failure(new OpenMcpClient({ baseUrl: 'http://alice:s3cretpw@127.0.0.1:1', retries: 0 }).health());
    expect(err.code).to.equal('SDK_CONNECTION_FAILED');
    expect(err.message).to.not.include('s3cretpw');
    expect(String((err.cause as Error | undefined)?.message ?? '')).to.not.include('s3cretpw');
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
