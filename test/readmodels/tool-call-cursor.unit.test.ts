import { expect } from 'chai';
import fc from 'fast-check';
import { encodeCursorJson } from '../../src/core/cursor-json';
import { decodeToolCallCursor, encodeToolCallCursor, type ToolCallCursor } from '../../src/readmodels/cursor';

// Up to 200 UTF-16 code units, as the query's `tool` and a recorded call's tool name: any code point, escaped or not.
const name = fc.string({ minLength: 1, maxLength: 100, unit: 'binary' });

describe('tool-call list cursor: how `tool` was read travels with it', () => {
  it('decodes to what was encoded, with or without a reading, within the query\'s 4096 characters', () => {
    const cursor = fc.record(
      {
        requestedAt: fc.option(fc.date({ min: new Date('2000-01-01'), max: new Date('2999-12-31'), noInvalidDate: true }).map((d) => d.toISOString()), { nil: null }),
        id: fc.string({ minLength: 1, maxLength: 40 }),
        reading: fc.record({ tool: name, served: fc.option(fc.record({ server: fc.stringMatching(/^[a-z][a-z0-9-]{0,62}$/), tool: name }), { nil: null }) }),
      },
      { requiredKeys: ['requestedAt', 'id'] },
    );
    fc.assert(
      fc.property(cursor, (c: ToolCallCursor) => {
        const raw = encodeToolCallCursor(c);
        expect(raw).to.match(/^[A-Za-z0-9_-]{1,4096}$/);
        expect(decodeToolCallCursor(raw)).to.deep.equal(c);
      }),
    );
  });

  it('refuses a reading it did not write as INVALID_CURSOR naming cursor', () => {
    for (const s of [['a'], ['a', ''], 'a', ['a', 7]]) {
      const raw = encodeCursorJson({ l: 'tool-calls', c: null, i: 'x', t: 'a__b', s });
      expect(() => decodeToolCallCursor(raw), JSON.stringify(s)).to.throw().with.property('code', 'INVALID_CURSOR');
    }
    expect(() => decodeToolCallCursor(encodeCursorJson({ l: 'tool-calls', c: null, i: 'x', s: null })), 'no tool').to.throw().with.property('code', 'INVALID_CURSOR');
  });
});
