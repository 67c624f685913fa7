import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { migrateLatest } from '../../migrations';
import { ensureAdminKey } from '../../src/auth/ensure-admin-key';
import { generateApiKey, hashApiKey } from '../../src/auth/api-key';
import { BOOTSTRAP_KEY_ID } from '../../src/auth/key-service';
import { MemoryKeyStore } from '../../src/auth/memory-key-store';
import { SqlKeyStore } from '../../src/auth/sql-key-store';
import { openKnex } from '../../src/db/knex';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

/** A child's stdout as lines: `next()` is the next one; it rejects (with stderr) if the child exits first. */
function lineChild(child: ChildProcess): { child: ChildProcess; next(): Promise<string> } {
  const lines: string[] = [];
  const waiting: { resolve(l: string): void; reject(e: Error): void }[] = [];
  let buf = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  child.stdout!.on('data', (d) => {
    buf += d;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      const w = waiting.shift();
      if (w) w.resolve(line);
      else lines.push(line);
    }
  });
  child.on('exit', (code) => {
    for (const w of waiting.splice(0)) w.reject(new Error(`child exited with ${code}: ${err}`));
  });
  return {
    child,
    next: () =>
      lines.length
        ? Promise.resolve(lines.shift()!)
        : child.exitCode !== null
          ? Promise.reject(new Error(`child exited with ${child.exitCode}: ${err}`))
          : new Promise((resolve, reject) => waiting.push({ resolve, reject })),
  };
}
const CHILD = join(__dirname, 'support', 'ensure-admin-key-child.ts');
const ADMIN_KEY = 'omk_shared-bootstrap-key-of-every-process-0123456789abcd';

/**
 * Every process that serves the API makes sure of the bootstrap admin key at start, and
 * `docker compose up` starts them together against a fresh database (and may share DATA_DIR).
 */
describe('ensureAdminKey: processes starting at once', function () {
  this.timeout(120_000);

  /** `n` processes' connections, migrated, each putting the bootstrap key at the same moment. */
  async function startTogether(openOne: () => Promise<Knex>, n: number): Promise<Knex[]> {
    const conns = await Promise.all(Array.from({ length: n }, openOne));
    await migrateLatest(conns[0]);
    // Connected and migrated, as processes are by the time they reach this step together.
    await Promise.all(conns.map((k) => k.raw('select 1')));
    const results = await Promise.allSettled(conns.map((k) => ensureAdminKey({ OPENMCP_ADMIN_KEY: ADMIN_KEY, dataDir: '/nonexistent' }, new SqlKeyStore(k))));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
    expect(failed, 'every start succeeds').to.deep.equal([]);
    const rows = await conns[0]('api_keys').where({ id: BOOTSTRAP_KEY_ID });
    expect(rows.map((r: { key_hash: string }) => r.key_hash)).to.deep.equal([hashApiKey(ADMIN_KEY)]);
    return conns;
  }

  it('MariaDB: all succeed and leave one bootstrap key (a delete-then-insert deadlocked here)', async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    for (let round = 0; round < 5; round++) {
      const db = await createTestDatabase('omc_adminkey');
      const conns: Knex[] = [];
      try {
        conns.push(...(await startTogether(() => openKnex(db.url), 6)));
      } finally {
        await Promise.all(conns.map((k) => k.destroy()));
        await db.drop();
      }
    }
  });

  it('SQLite (one file, several connections): all succeed and leave one bootstrap key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-adminkey-'));
    const conns: Knex[] = [];
    try {
      conns.push(...(await startTogether(() => openKnex(`sqlite:${join(dir, 'db.sqlite')}`), 4)));
    } finally {
      await Promise.all(conns.map((k) => k.destroy()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with a shared DATA_DIR and no OPENMCP_ADMIN_KEY: one key is generated, and every process uses it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'omc-adminkey-dir-'));
    // Six separate processes, started once and released together in each round (a round is a start-up).
    const children = Array.from({ length: 6 }, () => lineChild(spawn(process.execPath, ['--require', require.resolve('tsx/cjs'), CHILD, dataDir], { stdio: ['pipe', 'pipe', 'pipe'] })));
    try {
      await Promise.all(children.map((c) => c.next()));
      // More rounds than the 3 of separate starts: each costs a fraction of a second, and a lost race is rare.
      for (let round = 0; round < 10; round++) {
        rmSync(join(dataDir, 'admin.key'), { force: true });
        // Each process checks for the file and then creates it, all at one instant.
        const startAt = Date.now() + 200;
        for (const c of children) c.child.stdin!.write(`${startAt}\n`);
        const results = (await Promise.all(children.map((c) => c.next()))).map((l) => JSON.parse(l) as { key: string; generated: boolean });
        expect(results.filter((r) => r.generated), 'one process generated the key').to.have.length(1);
        expect(new Set(results.map((r) => r.key)).size).to.equal(1);
        expect(readFileSync(join(dataDir, 'admin.key'), 'utf8').trim()).to.equal(results[0].key);
      }
    } finally {
      for (const c of children) c.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a key file that holds no key, saying how to fix it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'omc-adminkey-bad-'));
    try {
      writeFileSync(join(dataDir, 'admin.key'), 'short');
      const err = await ensureAdminKey({ dataDir }, new MemoryKeyStore()).then(() => undefined, (e: Error) => e);
      expect(err?.message).to.match(/admin\.key does not hold a key \(delete it to generate a new one\)/);
      expect(readFileSync(join(dataDir, 'admin.key'), 'utf8'), 'the file is left as it was').to.equal('short');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses a hand-written weak key file as it refuses a weak OPENMCP_ADMIN_KEY, and leaves the file alone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'omc-adminkey-weak-'));
    try {
      for (const weak of ['admin-password-123', 'abcdabcdabcdabcdabcdabcdabcdabcdabcd']) {
        writeFileSync(join(dataDir, 'admin.key'), weak, { mode: 0o600 });
        const err = await ensureAdminKey({ dataDir }, new MemoryKeyStore()).then(() => undefined, (e: Error) => e);
        expect(err?.message, weak).to.match(/admin\.key holds a weak key: .*delete it to generate a new one, or generate one with `openssl rand/);
        expect(readFileSync(join(dataDir, 'admin.key'), 'utf8')).to.equal(weak);
      }
      const strong = generateApiKey().key;
      writeFileSync(join(dataDir, 'admin.key'), strong, { mode: 0o600 });
      expect((await ensureAdminKey({ dataDir }, new MemoryKeyStore())).key).to.equal(strong);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
