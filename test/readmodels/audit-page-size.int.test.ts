import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { MAX_PAGE_CHARS } from '../../src/readmodels/sql-read-models';
import type { Dialect } from '../projections/support';
import { projectedReadModels } from './support';

const actor = { kind: 'user' as const, id: 'u' };

/**
 * GET /v1/events takes up to 1,000 events a page, and an event may hold up to 4 MiB (a tool
 * call's arguments and result up to 256 KiB each, a discovered tool list, a model turn). A key of
 * any tenant with events:read made the API process read, parse and serialize hundreds of
 * megabytes for one request, after recording large tool calls of its own: a few such requests at
 * once exhausted the memory of a process every tenant shares. A page now also ends once its
 * events hold MAX_PAGE_CHARS, with a cursor to go on from (never empty).
 */
for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`the audit list: a page ends once its events hold ${MAX_PAGE_CHARS} characters (${dialect})`, function () {
    this.timeout(120_000);
    const t = projectedReadModels(dialect);

    it('pages of events of ~1 MiB each hold fewer than `limit`, with nextCursor; following it reads every event once, in order', async () => {
      const big = 'x'.repeat(1024 * 1024);
      const streams: string[] = [];
      let position = -1;
      for (let i = 0; i < 40; i++) {
        // A type no read model but the audit list takes (as audit-list-gaps does).
        const stream = `note-${newId()}`;
        const r = await t.db.store.append(stream, [createEvent({ type: 'TaskNoted', stream, tenant: 'acme', actor, data: { note: big } })]);
        streams.push(stream);
        position = r.position;
      }
      expect(await t.rm.waitForPosition(position, 60_000)).to.equal(true);
      const seen: string[] = [];
      let after: number | undefined;
      let pages = 0;
      for (;;) {
        const page = await t.rm.listAuditEvents('acme', { limit: 1000, after });
        pages++;
        expect(page.items, 'never an empty page behind a cursor').to.not.be.empty;
        const chars = page.items.reduce((n, e) => n + JSON.stringify(e).length, 0);
        // Each page within the budget, give or take what the view adds to an event's body (seq, batchId).
        expect(chars).to.be.at.most(MAX_PAGE_CHARS + 1000 * page.items.length);
        seen.push(...page.items.map((e) => e.stream));
        if (page.nextCursor === undefined) break;
        after = page.items[page.items.length - 1].position;
      }
      expect(seen).to.deep.equal(streams);
      expect(pages).to.be.greaterThan(2);
    });
  });
}
