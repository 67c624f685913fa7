/**
 * The KurrentDB client's parser, with `DEBUG=kdb*` (its namespace), prints a connection string it
 * cannot parse whole: the start's check of KURRENTDB_URL parses it with its credentials masked.
 * The client itself is made from the string whole (made otherwise, it would append through Append,
 * not BatchAppend) and prints it when debugging is on: the debug output is written with the
 * credentials of every URL masked (docs/security.md).
 * Run in a fresh process: the debug module reads DEBUG when it is first loaded.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
// Percent-encoded in the URL, as a password holding `/` must be: neither form may show.
const PASSWORD = 'Kdb-S3cret/Pw';
const ENCODED = encodeURIComponent(PASSWORD);

describe('KURRENTDB_URL checked at start with the KurrentDB client\'s debug output on', function () {
  this.timeout(60_000);

  it('a string the client refuses is quoted with its password masked', () => {
    const script = `
      (async () => {
        const { kurrentConnectionStringProblem } = require('./src/eventstore/kurrentdb/connection-string.ts');
        const url = 'kurrentdb://ops:${ENCODED}@127.0.0.1:2113?tls=false';
        const refused = kurrentConnectionStringProblem(url.replace('2113', 'port'));
        const taken = kurrentConnectionStringProblem(url);
        console.log(JSON.stringify({ refused, taken }));
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
      expect(stderr, `${debug}: the parser's debug output is on`).to.contain('kdb:connection');
      for (const secret of [PASSWORD, ENCODED]) expect(stderr, `${debug}: ${secret}`).not.to.contain(secret);
    }
  });

  // Was: `kdb:connection Using connection string: kurrentdb://ops:<password>@…`, the password whole.
  it('the client made from KURRENTDB_URL (its password included) prints the connection string with its credentials masked', () => {
    const script = `
      (async () => {
        const { openKurrentEventStore } = require('./src/eventstore/kurrentdb/KurrentEventStore.ts');
        // Made, not connected: the client prints the string as it is made; nothing listens on port 1.
        const store = await openKurrentEventStore('kurrentdb://ops:${ENCODED}@127.0.0.1:1?tls=false');
        await store.close?.();
        console.log(JSON.stringify({ made: true }));
      })().catch((err) => console.log(JSON.stringify({ failed: String(err && err.stack || err) }))).finally(() => process.exit(0));
    `;
    for (const debug of ['kdb*', '*']) {
      const res = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 50_000,
        env: { ...process.env, NODE_OPTIONS: '', DEBUG: debug, DEBUG_COLORS: 'false' },
      }) as { stdout: string; stderr: string };
      const got = JSON.parse(res.stdout.trim().split('\n').pop()!) as Record<string, unknown>;
      expect(got.failed, String(got.failed)).to.equal(undefined);
      expect(res.stderr, `${debug}: the client's debug output is on`).to.match(/kdb:connection Using connection string: kurrentdb:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1\?tls=false/);
      for (const secret of [PASSWORD, ENCODED]) expect(res.stderr, `${debug}: ${secret}`).not.to.contain(secret);
    }
  });
});
