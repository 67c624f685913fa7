import { expect } from 'chai';
import fc from 'fast-check';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { InvalidCursorError } from '../../src/core/errors';
import { decodeToolsCursor, encodeToolsCursor, sortedByName, toolsPage } from '../../src/mcp/tools-page';

const tool = (name: string): Tool => ({ name, inputSchema: { type: 'object' } });
const LEAD = [tool('search_tools')];
const name = fc.stringMatching(/^[a-z]{1,3}__[a-zA-Z0-9_-]{1,6}$/);

describe('tools/list pages (keyset by name)', () => {
  it('a whole listing of an unchanging catalog: lead first, every tool once, by name, pages within size', () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { maxLength: 60 }), fc.integer({ min: 1, max: 12 }), (names, size) => {
        const sorted = sortedByName(names.map(tool));
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = toolsPage(LEAD, sorted, size, cursor);
          expect(page.tools.length).to.be.within(1, size);
          seen.push(...page.tools.map((t) => t.name));
          cursor = page.nextCursor;
          pages++;
        } while (cursor !== undefined && pages < 200);
        expect(seen).to.deep.equal(['search_tools', ...[...names].sort()]);
        expect(pages).to.equal(Math.max(1, Math.ceil((names.length + 1) / size)));
      }),
    );
  });

  it('the catalog changing between pages: tools there throughout listed exactly once, none twice', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(name, { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.uniqueArray(name, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 3 })), { maxLength: 10 }),
        (initial, size, changes) => {
          let catalog = new Set(initial);
          const always = new Set(initial);
          const seen: string[] = [];
          let cursor: string | undefined;
          for (let i = 0; i < 200; i++) {
            const page = toolsPage(LEAD, sortedByName([...catalog].map(tool)), size, cursor);
            seen.push(...page.tools.map((t) => t.name));
            cursor = page.nextCursor;
            if (cursor === undefined) break;
            const [added, removedAt] = changes[i] ?? [[], []];
            const now = [...catalog];
            const removed = new Set(removedAt.map((k) => now[k % now.length]));
            for (const r of removed) always.delete(r);
            catalog = new Set([...now.filter((n) => !removed.has(n)), ...added]);
          }
          expect(new Set(seen).size, 'none twice').to.equal(seen.length);
          for (const n of always) expect(seen, n).to.include(n);
        },
      ),
    );
  });

  it('decodes only what it encodes; anything else is INVALID_CURSOR', () => {
    fc.assert(fc.property(name, (n) => {
        expect(decodeToolsCursor(encodeToolsCursor(n))).to.equal(n);
      }));
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (raw) => {
        let decoded: string | undefined;
        try {
          decoded = decodeToolsCursor(raw);
        } catch (err) {
          expect(err).to.be.instanceOf(InvalidCursorError);
          return;
        }
        expect(encodeToolsCursor(decoded), 'decoded only a cursor of the right shape').to.be.a('string');
      }),
    );
    for (const raw of ['', '!', Buffer.from('[]').toString('base64url'), Buffer.from('{"l":"tools","a":5}').toString('base64url')]) {
      expect(() => decodeToolsCursor(raw), raw).to.throw(InvalidCursorError);
    }
  });
});
