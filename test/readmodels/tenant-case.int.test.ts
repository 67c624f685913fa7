import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import type { Dialect } from '../projections/support';
import { projectedReadModels } from './support';

const actor = { kind: 'user' as const, id: 'u' };

/**
 * Tenants are case-sensitive names ('Acme' and 'acme' are two customers). On MySQL every table
 * used to take utf8mb4's case-insensitive default collation, so a read-model query for one
 * returned the other's rows.
 */
for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`read models keep tenants that differ only in case apart (${dialect})`, function () {
    this.timeout(60_000);
    const t = projectedReadModels(dialect);

    async function submit(tenant: string): Promise<string> {
      const stream = `task-${newId()}`;
      await t.db.store.append(stream, [createEvent({ type: 'TaskSubmitted', stream, tenant, actor, data: { instruction: `for ${tenant}`, agentId: 'a' } })]);
      return stream.slice(5);
    }

    it('tasks and audit events of Acme are not acme\'s', async () => {
      const upper = await submit('Acme');
      const lower = await submit('acme');
      expect(await t.rm.waitForPosition(await t.db.store.headPosition(), 10_000)).to.equal(true);

      expect((await t.rm.listTasks('acme', { limit: 10 })).items.map((t) => t.id)).to.deep.equal([lower]);
      expect((await t.rm.listTasks('Acme', { limit: 10 })).items.map((t) => t.id)).to.deep.equal([upper]);
      expect(await t.rm.getTask('acme', upper)).to.equal(undefined);
      expect((await t.rm.getTask('Acme', upper))!.instruction).to.equal('for Acme');

      const audit = (await t.rm.listAuditEvents('acme', { limit: 10 })).items;
      expect(audit.map((e) => e.tenant)).to.deep.equal(['acme']);
      const upperEvent = (await t.rm.listAuditEvents('Acme', { limit: 10 })).items[0];
      expect(await t.rm.getAuditEvent('acme', upperEvent.id)).to.equal(undefined);
    });
  });
}
