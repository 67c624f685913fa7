import { expect } from 'chai';
import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { Projector } from '../../src/projector/projector';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { mysqlAvailable, requireService } from '../support/services';
import { openTestDb, type Dialect, type TestDb } from '../projections/support';

const actor = { kind: 'user' as const, id: 'u' };

/**
 * Tenants are case-sensitive names ('Acme' and 'acme' are two customers). On MySQL every table
 * used to take utf8mb4's case-insensitive default collation, so a read-model query for one
 * returned the other's rows.
 */
for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`read models keep tenants that differ only in case apart (${dialect})`, function () {
    this.timeout(60_000);
    let db: TestDb;
    let projector: Projector;
    let rm: SqlReadModels;
    before(async function () {
      if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
    });
    beforeEach(async () => {
      db = await openTestDb(dialect);
      projector = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, new MemoryCheckpointStore()) });
      await projector.start();
      rm = new SqlReadModels({ knex: db.knex, applied: projector.applied });
    });
    afterEach(async () => {
      await projector?.stop();
      await db?.close();
    });

    async function submit(tenant: string): Promise<string> {
      const stream = `task-${newId()}`;
      await db.store.append(stream, [createEvent({ type: 'TaskSubmitted', stream, tenant, actor, data: { instruction: `for ${tenant}`, agentId: 'a' } })]);
      return stream.slice(5);
    }

    it('tasks and audit events of Acme are not acme\'s', async () => {
      const upper = await submit('Acme');
      const lower = await submit('acme');
      expect(await rm.waitForPosition(await db.store.headPosition(), 10_000)).to.equal(true);

      expect((await rm.listTasks('acme', { limit: 10 })).items.map((t) => t.id)).to.deep.equal([lower]);
      expect((await rm.listTasks('Acme', { limit: 10 })).items.map((t) => t.id)).to.deep.equal([upper]);
      expect(await rm.getTask('acme', upper)).to.equal(undefined);
      expect((await rm.getTask('Acme', upper))!.instruction).to.equal('for Acme');

      const audit = (await rm.listAuditEvents('acme', { limit: 10 })).items;
      expect(audit.map((e) => e.tenant)).to.deep.equal(['acme']);
      const upperEvent = (await rm.listAuditEvents('Acme', { limit: 10 })).items[0];
      expect(await rm.getAuditEvent('acme', upperEvent.id)).to.equal(undefined);
    });
  });
}
