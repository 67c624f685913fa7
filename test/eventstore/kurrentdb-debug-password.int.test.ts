/**
 * The KurrentDB client's debug output (`DEBUG=kdb*`, its namespace) prints the connection string it
 * is made with, and a connection string it cannot parse, whole: with a password in KURRENTDB_URL,
 * an operator turning debugging on put the password in the log. The client is made from the string
 * without its credentials, which it is given as credentials instead, and still sends.
 * Run in a fresh process: the debug module reads DEBUG when it is first loaded.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
// Percent-encoded in the URL, as a password holding `/` must be: neither form may show.
const PASSWORD = 'Kdb-S3cret/Pw';
const ENCODED = encodeURIComponent(PASSWORD);
const BASIC = Buffer.from(`ops:${PASSWORD}`).toString('base64');

describe('KurrentDB client debug output with a password in KURRENTDB_URL', function () {
  this.timeout(60_000);

  it('never holds the password, while the client still sends it', () => {
    const script = `
      (async () => {
        const { startKurrentFake } = require('./test/support/kurrentdb-fake/index.ts');
        const { openKurrentEventStore } = require('./src/eventstore/kurrentdb/index.ts');
        const { kurrentConnectionStringProblem } = require('./src/eventstore/kurrentdb/connection-string.ts');
        const { createEvent } = require('./src/core/envelope.ts');
        const fake = await startKurrentFake();
        const url = fake.url.replace('kurrentdb://', 'kurrentdb://ops:${ENCODED}@');
        const refused = kurrentConnectionStringProblem(url.replace(String(fake.port), 'port'));
        const taken = kurrentConnectionStringProblem(url);
        const store = await openKurrentEventStore(url);
        const event = createEvent({ type: 'TaskStarted', stream: 'task-1', tenant: 'acme', actor: { kind: 'user', id: 'alice' }, data: {} });
        await store.append('task-1', [event], { expectedRevision: 'no_stream' });
        const read = (await store.readStream('task-1')).length;
        await store.close();
        await fake.stop();
        console.log(JSON.stringify({ refused, taken, read, authorizations: fake.authorizations }));
      })().catch((err) => console.log(JSON.stringify({ failed: String(err && err.stack || err) }))).finally(() => process.exit(0));
    `;
    const run = (debug: string) => {
      const res = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 50_000,
        env: { ...process.env, NODE_OPTIONS: '', DEBUG: debug, DEBUG_COLORS: 'false' },
      }) as { stdout: string; stderr: string };
      return { got: JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, unknown>, stderr: res.stderr };
    };
    for (const debug of ['kdb*', '*']) {
      const { got, stderr } = run(debug);
      expect(got.failed, String(got.failed)).to.equal(undefined);
      expect(got.refused, 'a connection string the client refuses').to.be.a('string');
      expect(got.taken).to.equal(undefined);
      expect(got.read).to.equal(1);
      expect(stderr, `${debug}: the client's debug output is on`).to.contain('kdb:connection Using connection string');
      for (const secret of [PASSWORD, ENCODED, BASIC]) expect(stderr, `${debug}: ${secret}`).not.to.contain(secret);
      // The reads go through the client's native part, which sends the credentials even without TLS.
      expect((got.authorizations as Record<string, string[]>).Read, 'the credentials sent').to.include(`Basic ${BASIC}`);
    }
  });
});
