import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import knex from 'knex';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

const ROOT = join(__dirname, '..', '..');

/**
 * `openmcp projections rebuild tasks | head -1`: its progress lines go to stdout, and a reader gone
 * after the first one used to end it with 0 between building the fresh tables and swapping them
 * in (the CLI's EPIPE exit, meant for `events tail | head`). It runs on to its end, lines unread.
 */
describe('openmcp projections rebuild: a stdout whose reader has gone', function () {
  this.timeout(120_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;

  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    db = await createTestDatabase('omc_rb_stdout');
  });
  after(() => db?.drop());

  it('runs on to the swap and exits 0, leaving no fresh table behind', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'openmcp'), 'projections', 'rebuild', 'tasks'], {
      cwd: ROOT,
      env: { ...process.env, DATABASE_URL: db.url, OPENMCP_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const code = await new Promise<number | string | null>((resolve) => child.on('close', (c, signal) => resolve(c ?? signal)));
    clearTimeout(timer);
    expect(code, stderr).to.equal(0);
    const k = knex({ client: 'mysql2', connection: db.url });
    try {
      const [rows] = (await k.raw("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? AND table_name LIKE 'rm\\_task%'", [db.name])) as [{ name: string }[]];
      const names = rows.map((r) => r.name).sort();
      expect(names.filter((n) => n.includes('__')), `fresh tables left: ${names.join(', ')}`).to.deep.equal([]);
      expect(names).to.include.members(['rm_tasks', 'rm_task_steps']);
    } finally {
      await k.destroy();
    }
  });
});
