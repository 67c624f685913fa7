import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { LIVE_TABLES as T } from '../../projections/tables';
import type { Dialect } from '../projections/support';
import { projectedReadModels } from './support';

const actor = { kind: 'user' as const, id: 'u' };

for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`the audit list over a log with gap-free positions (${dialect})`, function () {
    this.timeout(60_000);
    const t = projectedReadModels(dialect);

    it('never lists past a position the audit log has not applied yet (Kafka applies partitions out of global order): a client following nextCursor or after= misses nothing', async () => {
      // Six events, two streams of two tenants, interleaved in the global order.
      const a = `task-${newId()}`;
      const b = `task-${newId()}`;
      let head = 0;
      for (let i = 0; i < 3; i++) {
        for (const [stream, tenant] of [[a, 'acme'], [b, 'globex']] as const) {
          const data = i === 0 ? { instruction: 'x' } : { reason: `r${i}` };
          head = (await t.db.store.append(stream, [createEvent({ type: i === 0 ? 'TaskSubmitted' : 'TaskNoted', stream, tenant, actor, data })])).position;
        }
      }
      expect(await t.rm.waitForPosition(head, 10_000)).to.equal(true);
      const first = (await t.db.knex(T.auditEvents).min('position as p').first())!.p as number;
      // Position first+2 (acme's stream a, revision 1) not applied yet, as when its Kafka partition lags.
      const held = await t.db.knex(T.auditEvents).where('position', first + 2).first();
      await t.db.knex(T.auditEvents).where('position', first + 2).delete();
      const rm = new SqlReadModels({ knex: t.db.knex, gapFreePositions: true });
      const positions = (p: { items: { position: number }[] }) => p.items.map((e) => e.position);

      let page = await rm.listAuditEvents(null, { limit: 100 });
      expect(positions(page)).to.deep.equal([first, first + 1]);
      expect(page.nextCursor).to.equal(undefined);
      page = await rm.listAuditEvents(null, { limit: 1, after: first });
      expect(positions(page), 'a page ending at the gap').to.deep.equal([first + 1]);
      expect(page.nextCursor).to.equal(undefined);
      expect(positions(await rm.listAuditEvents(null, { limit: 100, after: first + 1 })), 'nothing past the gap').to.deep.equal([]);
      expect(positions(await rm.listAuditEvents('globex', { limit: 100 })), "another tenant's events wait too").to.deep.equal([first + 1]);
      expect(positions(await rm.listAuditEvents('globex', { limit: 100, type: 'TaskNoted' }))).to.deep.equal([]);
      // One stream is applied in its own order (one partition): its list is not held by others.
      expect(positions(await rm.listAuditEvents(null, { limit: 100, stream: b }))).to.deep.equal([first + 1, first + 3, first + 5]);

      expect(positions(await rm.listAuditEvents(null, { limit: 100, after: first + 2 })), 'a client already past the gap waits too').to.deep.equal([]);

      await t.db.knex(T.auditEvents).insert(held);
      page = await rm.listAuditEvents(null, { limit: 100, after: first + 1 });
      expect(positions(page)).to.deep.equal([first + 2, first + 3, first + 4, first + 5]);
      expect(positions(await rm.listAuditEvents('globex', { limit: 2 })), 'pages of a complete log as before').to.deep.equal([first + 1, first + 3]);
      expect((await rm.listAuditEvents('globex', { limit: 2 })).nextCursor).to.equal(String(first + 3));
      // Without gap-free positions (KurrentDB: byte offsets) the list is as the table has it.
      await t.db.knex(T.auditEvents).where('position', first + 2).delete();
      expect(positions(await new SqlReadModels({ knex: t.db.knex }).listAuditEvents(null, { limit: 100 }))).to.deep.equal([first, first + 1, first + 3, first + 4, first + 5]);
    });

    it('a gap held up (a partition stuck at a poison event, a projector down) costs each list a lookup of its position, not a count and rank of every row applied after it', async () => {
      const stream = `task-${newId()}`;
      let head = 0;
      for (let i = 0; i < 6; i++) {
        const data = i === 0 ? { instruction: 'x' } : { reason: `r${i}` };
        head = (await t.db.store.append(stream, [createEvent({ type: i === 0 ? 'TaskSubmitted' : 'TaskNoted', stream, tenant: 'acme', actor, data })])).position;
      }
      expect(await t.rm.waitForPosition(head, 10_000)).to.equal(true);
      const first = (await t.db.knex(T.auditEvents).min('position as p').first())!.p as number;
      await t.db.knex(T.auditEvents).where('position', first + 2).delete();
      const rm = new SqlReadModels({ knex: t.db.knex, gapFreePositions: true });
      const positions = (p: { items: { position: number }[] }) => p.items.map((e) => e.position);
      expect(positions(await rm.listAuditEvents(null, { limit: 100 }))).to.deep.equal([first, first + 1]);
      const statements: string[] = [];
      const onQuery = (q: { sql: string }) => void statements.push(q.sql);
      t.db.knex.on('query', onQuery);
      try {
        expect(positions(await rm.listAuditEvents('acme', { limit: 100 })), 'still held at the gap').to.deep.equal([first, first + 1]);
      } finally {
        t.db.knex.off('query', onQuery);
      }
      const scans = statements.filter((sql) => /count\(|row_number/i.test(sql));
      expect(scans, 'statements counting or ranking the rows after the gap').to.deep.equal([]);
    });
  });
}
