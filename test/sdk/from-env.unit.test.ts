import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientFromEnvironment, UnauthenticatedApiError } from '../../src/sdk';

// A newcomer who ran `DATA_DIR=/tmp/x npm start` and then `npx openmcp tasks list` without it got
// "the key sent came from nowhere: none of …, DATA_DIR/admin.key is set": it did not say which
// admin.key was looked for, the one thing that tells them DATA_DIR is missing.
describe('clientFromEnvironment: a refused key says where the CLI looked for it', () => {
  let server: Server;
  let url: string;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-from-env-'));
    server = createServer((_req, res) => {
      res.writeHead(401, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Unauthorized', status: 401, code: 'UNAUTHENTICATED', detail: 'a valid Authorization: Bearer <api key or JWT> header is required' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('names the admin.key file it did not find', async () => {
    const client = clientFromEnvironment({ env: { OPENMCP_URL: url }, config: { HOST: '127.0.0.1', PORT: 1, dataDir: join(dir, 'data') } });
    const err = await client.tasks.list().then(() => null, (e: unknown) => e);
    expect(err).to.be.instanceOf(UnauthenticatedApiError);
    expect((err as UnauthenticatedApiError).keySource).to.include(join(dir, 'data', 'admin.key')).and.include('OPENMCP_API_KEY');
  });
});
