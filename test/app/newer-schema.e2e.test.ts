/**
 * `openmcp start` on a database a newer release has migrated: what a rolling upgrade's old
 * process, or a rollback, meets. The previous release refused to start ("The migration directory
 * is corrupt") and said nothing of the migrations it ran either.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateLatest, migrationSource } from '../../migrations';
import { openKnex } from '../../src/db/knex';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';

describe('openmcp start on a database a newer release migrated', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'omc-newer-schema-'));
  let gw: GatewayProcess | undefined;

  after(async () => {
    await gw?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts, runs the migration of its own it lacks and logs it, and warns naming the newer ones', async () => {
    const newer = '20991231000100_of_a_newer_release';
    const knex = await openKnex(`sqlite:${join(dir, 'openmcp.db')}`);
    const all = await migrationSource.getMigrations([]);
    const last = all[all.length - 1];
    try {
      await migrateLatest(knex);
      await knex('knex_migrations').insert({ name: newer, batch: 99, migration_time: new Date() });
      await knex('knex_migrations').where({ name: last }).delete();
    } finally {
      await knex.destroy();
    }

    gw = await startGatewayProcess({ LOG_LEVEL: 'info', OPENMCP_EXAMPLES: 'off' }, dir);
    const lines = gw
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { level: number; msg: string; migrations?: string[] });
    const migrated = lines.find((l) => l.msg.startsWith('database migrated'));
    expect(migrated, gw.output()).to.include({ level: 30, msg: `database migrated: ${last}` });
    expect(migrated?.migrations).to.deep.equal([last]);
    const warned = lines.find((l) => l.level === 40 && l.msg.includes('newer release'));
    expect(warned?.msg, gw.output()).to.equal(
      `the database has migrations of a newer release (${newer}): this release runs on that schema, as migrations are additive; finish the upgrade, or roll back as docs/operations.md says ("Upgrading without downtime")`,
    );
    expect((await fetch(`${gw.url}/healthz`)).status).to.equal(200);
  });
});
