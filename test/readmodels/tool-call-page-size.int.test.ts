import { expect } from 'chai';
import { MAX_PAGE_CHARS } from '../../src/readmodels/sql-read-models';
import type { Dialect } from '../projections/support';
import { recordCall } from '../support/tool-call-events';
import { projectedReadModels } from './support';

/**
 * GET /v1/tool-calls takes up to 200 calls a page, each with its arguments and result as recorded
 * (256 KiB each under `store`; sealed, as hex, twice that): some 100–200 MB for one request of any
 * key of the tenant (tasks:read, viewers too), after large calls of its own. A page now also ends
 * once its payloads hold MAX_PAGE_CHARS, with a cursor to go on from (never empty).
 */
for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`the tool-call list: a page ends once its payloads hold ${MAX_PAGE_CHARS} characters (${dialect})`, function () {
    this.timeout(120_000);
    const t = projectedReadModels(dialect);

    it('pages of calls of ~0.5 MiB each hold fewer than `limit`, with nextCursor; following it reads every call once', async () => {
      const text = 'x'.repeat(250 * 1024);
      const ids: string[] = [];
      let position = -1;
      for (let i = 0; i < 80; i++) {
        const r = await recordCall(t.db.store, { tenant: 'acme', arguments: { text }, result: { content: [{ type: 'text', text }] }, at: new Date(Date.UTC(2026, 2, 1, 10, 0, 0, i)).toISOString() });
        ids.push(r.id);
        position = r.position;
      }
      expect(await t.rm.waitForPosition(position, 60_000)).to.equal(true);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await t.rm.listToolCalls('acme', { limit: 200, ...(cursor ? { cursor } : {}) });
        pages++;
        expect(page.items, 'never an empty page behind a cursor').to.not.be.empty;
        const chars = page.items.reduce((n, c) => n + JSON.stringify(c).length, 0);
        expect(chars).to.be.at.most(MAX_PAGE_CHARS + 2000 * page.items.length);
        seen.push(...page.items.map((c) => c.id));
        if (!(cursor = page.nextCursor)) break;
      }
      expect(seen).to.deep.equal([...ids].reverse());
      expect(pages).to.be.greaterThan(2);
    });
  });
}
