/**
 * The drain (`openmcp start`, SIGTERM) against an event stream whose key was still being looked
 * up when HTTP began to close: the stream opened once the lookup ended, after the close had ended
 * the open streams, and nothing ended it, so the drain never got past HTTP (the process exited 1
 * at SHUTDOWN_DEADLINE_MS without closing its stores). The lookup is held by holding the SQLite
 * pool's one connection in a transaction, not by timing.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { freePort } from '../support/free-port';

/** Hardhat account #3: a sealer key of its own. */
const SEALER_KEY = '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6';

describe('drain while a stream request is still authenticating: the stream is refused and the drain completes', function () {
  this.timeout(120_000);
  let dir: string;
  let chain: LocalChain;
  let a: OpenMcp | undefined;
  let drain: Promise<void> | undefined;
  let releaseDb: () => void = () => {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-drain-auth-'));
    chain = await startLocalChain({ port: await freePort(), dataDir: join(dir, 'chain') });
  });
  after(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(async () => {
    releaseDb();
    // A stream left open (the old behaviour) is cut, so that the drain ends and the next test starts.
    a?.app.server.closeAllConnections();
    await (drain ?? a?.close());
    a = undefined;
    drain = undefined;
  });

  /** Whether `p` settles within 20 s: without the fix the drain waits for the stream as long as its client stays. */
  async function settles(p: Promise<unknown>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([p.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 20_000)))]);
    clearTimeout(timer);
    return done;
  }

  it("the dashboard's live stream: 503 DEPENDENCY_UNAVAILABLE (Retry-After, Connection: close), then every step of the drain runs, the stores' close included", async () => {
    const port = await freePort();
    const config = loadConfig({
      DATA_DIR: join(dir, `data-${port}`),
      LOG_LEVEL: 'silent',
      OPENMCP_EXAMPLES: 'off',
      OPENMCP_ROLES: 'api',
      HOST: '127.0.0.1',
      PORT: String(port),
      CHAIN_RPC_URL: chain.rpcUrl,
      ANCHOR_CONTRACT: chain.contractAddress,
      ANCHORER_PRIVATE_KEY: chain.anchorerPrivateKey,
      SEALER_PRIVATE_KEY: SEALER_KEY,
    });
    a = await startOpenMcp(config, { print: () => {} });
    const app = a.app;

    // The SQLite pool's one connection, held: the admin key (not looked up yet, so not cached) waits for it.
    const holding = new Promise<void>((held) => {
      void a!.knex.transaction(async (trx) => {
        await trx.raw('select 1');
        held();
        await new Promise<void>((r) => (releaseDb = r));
      });
    });
    await holding;

    // Routed (fastify refuses requests arriving once its close began, and this one came before) and waiting on its key.
    const routed = new Promise<void>((r) => {
      const seen = (req: IncomingMessage) => {
        if (!req.url?.startsWith('/ui/api/stream')) return;
        app.server.off('request', seen);
        r();
      };
      app.server.on('request', seen);
    });
    const answer = new Promise<{ res: IncomingMessage; body: Promise<string> }>((resolve, reject) => {
      request(`http://127.0.0.1:${port}/ui/api/stream`, { agent: false, headers: { authorization: `Bearer ${a!.generatedAdminKey}` } }, (res) => {
        res.setEncoding('utf8');
        let text = '';
        res.on('data', (c: string) => (text += c));
        resolve({ res, body: new Promise((r) => res.once('end', () => r(text)).once('close', () => r(text))) });
      })
        .once('error', reject)
        .end();
    });
    await routed;

    drain = a.drain();
    // HTTP's close has ended the open streams and stopped listening: the key lookup may end now.
    while (app.server.listening) await new Promise((r) => setTimeout(r, 10));
    releaseDb();

    expect(await settles(drain), 'the drain got past HTTP').to.equal(true);
    const { res, body } = await answer;
    expect(res.statusCode).to.equal(503);
    expect(res.headers.connection).to.equal('close');
    expect(res.headers['retry-after']).to.equal('1');
    expect(JSON.parse(await body).code).to.equal('DEPENDENCY_UNAVAILABLE');
    // Its last steps ran: the stores are closed.
    const error = await a.knex.raw('select 1').then(() => undefined, (err: unknown) => err);
    expect(error, 'the database is closed').to.be.instanceOf(Error);
  });
});
