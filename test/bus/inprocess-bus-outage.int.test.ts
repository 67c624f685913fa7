import { expect } from 'chai';
import knexFactory from 'knex';
import { InProcessBus } from '../../src/bus/inprocess';
import { SqlCheckpointStore } from '../../src/checkpoints';
import { openKnex } from '../../src/db/knex';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import { appendEvents, eventually } from '../relay/event-log-fixture';
import { createTestDatabase, MYSQL_BASE_URL, mysqlAvailable, requireService } from '../support/services';

describe('InProcessBus through a database outage (MariaDB)', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;

  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    db = await createTestDatabase('omc_bus_outage');
  });
  after(async () => db?.drop());

  it('goes on from the last delivered event once reads work again (a failed read used to end the consumer for good)', async () => {
    const reader = await openSqlEventStore(db!.url, { pollIntervalMs: 50 });
    const writer = await openSqlEventStore(db!.url);
    const knex = await openKnex(db!.url);
    const u = new URL(MYSQL_BASE_URL);
    const admin = knexFactory({ client: 'mysql2', connection: { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root') } });
    const errors: unknown[] = [];
    const bus = new InProcessBus(reader, new SqlCheckpointStore(knex), { onError: (e) => errors.push(e) });
    const seen: string[] = [];
    try {
      await bus.consume('projector', async (batch) => void seen.push(...batch.map((e) => e.id)));
      const first = await appendEvents(writer, 3, 3);
      await eventually(() => seen.length === first.length, 'the first events');
      // The events table is away for a moment (a failover, a restore): the consumer's reads fail.
      await admin.raw('RENAME TABLE ??.events TO ??.events_away', [db!.name, db!.name]);
      await eventually(() => errors.length > 0, 'a failed read to be reported');
      await admin.raw('RENAME TABLE ??.events_away TO ??.events', [db!.name, db!.name]);
      const second = await appendEvents(writer, 3, 3);
      await eventually(() => seen.length >= first.length + second.length, 'the events appended after the outage', 15_000);
      expect(seen).to.deep.equal([...first, ...second].map((e) => e.id));
    } finally {
      await bus.close();
      await Promise.all([reader.close(), writer.close(), knex.destroy(), admin.destroy()]);
    }
  });
});
