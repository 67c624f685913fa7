import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openKurrentEventStore } from '../../src/eventstore/kurrentdb';
import type { EventStore } from '../../src/eventstore/port';
import { appliersFor } from '../../src/projector/appliers-for';
import { Projector } from '../../src/projector/projector';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { startKurrentFake, type KurrentFake } from '../support/kurrentdb-fake';
import { openTestDb, type TestDb } from './support';

async function appendSome(store: EventStore): Promise<void> {
  for (let i = 0; i < 3; i++) {
    const stream = `task-${newId()}`;
    await store.append(stream, [createEvent({ type: 'TaskSubmitted', stream, tenant: 'acme', actor: { kind: 'user', id: 'u' }, data: { instruction: `t${i}` } })]);
  }
}

/** GET /v1/events shows `seq` (and `batchId`): the audit seq, which is the position only on the SQL store. */
describe('audit seq in the read model, per event store', function () {
  this.timeout(30_000);
  let db: TestDb;
  let fake: KurrentFake | undefined;
  beforeEach(async () => {
    db = await openTestDb('sqlite');
  });
  afterEach(async () => {
    await db.close();
    await fake?.stop();
    fake = undefined;
  });

  it('SQL store: seq is the global position', async () => {
    await appendSome(db.store);
    await new Projector({ knex: db.knex, bus: null as never, appliers: appliersFor(db.store) }).applyEvents(await db.store.readAll());
    const page = await new SqlReadModels({ knex: db.knex }).listAuditEvents(null, { limit: 10 });
    expect(page.items.map((e) => e.seq)).to.deep.equal(page.items.map((e) => e.position)).and.to.have.length(3);
  });

  it('KurrentDB: seq stays empty rather than showing a commit position as a seq', async () => {
    fake = await startKurrentFake();
    const store = await openKurrentEventStore(fake.url);
    try {
      await appendSome(store);
      await new Projector({ knex: db.knex, bus: null as never, appliers: appliersFor(store) }).applyEvents(await store.readAll());
      const page = await new SqlReadModels({ knex: db.knex }).listAuditEvents(null, { limit: 10 });
      expect(page.items).to.have.length(3);
      expect(page.items.map((e) => e.seq)).to.deep.equal([undefined, undefined, undefined]);
    } finally {
      await store.close();
    }
  });
});
