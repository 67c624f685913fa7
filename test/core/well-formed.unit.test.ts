import { expect } from 'chai';
import fc from 'fast-check';
import { contentOf, createEvent, verifyEventHash, type RecordedEvent } from '../../src/core/envelope';
import { ValidationError } from '../../src/core/errors';
import { loneSurrogateIn } from '../../src/core/lone-surrogate';
import { cutText, wellFormed } from '../../src/core/well-formed';
import { strictJcs, strictJcsHash, untrustedJson, untrustedText } from '../support/strict-jcs';

const make = (data: Record<string, unknown>) =>
  createEvent({ type: 'ToolCallCompleted', stream: 'toolcall-x1', tenant: 'acme', actor: { kind: 'agent', id: 'a' }, data });

describe('well-formed text in events (RFC 8785 outside JavaScript)', () => {
  it('wellFormed replaces every lone surrogate (strings, keys, at any depth) with U+FFFD and keeps pairs (property)', () => {
    fc.assert(
      fc.property(untrustedJson, (v) => {
        const w = wellFormed(v);
        expect(loneSurrogateIn(w)).to.equal(undefined);
        expect(() => strictJcs(w)).to.not.throw();
        // Idempotent, and a value already well-formed is the same object.
        expect(wellFormed(w)).to.equal(w);
        if (loneSurrogateIn(v) === undefined) expect(w).to.equal(v);
      }),
      { numRuns: 300 },
    );
    expect(wellFormed({ 'k\udc00': ['a\ud800b', 'ok \ud83d\ude00'] })).to.deep.equal({ 'k\ufffd': ['a\ufffdb', 'ok \ud83d\ude00'] });
  });

  it('wellFormed keeps an own "__proto__" key (JSON.parse makes one) when it copies its object, rather than setting the copy\'s prototype', () => {
    const v = JSON.parse('{"__proto__":{"admin":true},"t":"a\\ud800"}') as Record<string, unknown>;
    const w = wellFormed(v);
    expect(Object.keys(w)).to.deep.equal(['__proto__', 't']);
    expect(Object.getPrototypeOf(w)).to.equal(Object.prototype);
    expect(JSON.stringify(w)).to.equal('{"__proto__":{"admin":true},"t":"a\ufffd"}');
  });

  it('cutText cuts at the limit and never between the halves of a pair (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.nat(40), (s, max) => {
        const cut = cutText(s, max);
        expect(cut.isWellFormed()).to.equal(true);
        expect(s.startsWith(cut)).to.equal(true);
        expect(cut.length).to.be.within(Math.min(s.length, max) - 1, Math.min(s.length, max));
      }),
    );
    expect(cutText('ab\ud83d\ude00', 3)).to.equal('ab');
    expect('ab\ud83d\ude00'.slice(0, 3).isWellFormed()).to.equal(false);
  });

  it('createEvent refuses content with a lone surrogate naming the field, and an event it builds hashes as an independent RFC 8785 does (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(untrustedText, untrustedJson, { maxKeys: 4 }), (data) => {
        const lone = loneSurrogateIn(data, ['data']);
        if (lone) {
          expect(() => make(data)).to.throw(ValidationError).with.property('details').that.deep.include({ field: lone.field });
          expect(lone.field.isWellFormed(), 'the field name is itself Unicode text').to.equal(true);
        } else {
          const e = make(data);
          expect(e.hash).to.equal(strictJcsHash(contentOf(e)));
        }
        // Made well-formed at its boundary, the same data is always built, and reproducible.
        const e = make(wellFormed(data));
        expect(e.hash).to.equal(strictJcsHash(contentOf(e)));
      }),
      { numRuns: 300 },
    );
  });

  it('names the field in the message: the event type, the path and the unit', () => {
    expect(() => make({ resultJson: 'x', nested: { list: ['ok', 'bad \ud800'] } })).to.throw(
      ValidationError,
      'ToolCallCompleted event not built: data.nested.list.1 holds a lone UTF-16 surrogate (\\ud800)',
    );
    // A backslash and "ud800" written as text is no surrogate.
    expect(() => make({ text: '\\ud800 is how JSON escapes it' })).to.not.throw();
  });

  it('an event with a lone surrogate already in a log verifies exactly as before: history is never re-hashed', () => {
    // Appended by an earlier release; its hash (SHA-256 of the JCS text as JavaScript writes it, the
    // surrogate as the escape \ud800) was computed by that release's code and is pinned here.
    const stored: RecordedEvent = {
      id: '0193a0c0-0000-7000-8000-000000000001',
      type: 'ToolCallCompleted',
      version: 1,
      stream: 'toolcall-0193a0c0-0000-7000-8000-000000000002',
      occurredAt: '2026-12-01T10:00:00.000Z',
      tenant: 'acme',
      actor: { kind: 'agent', id: 'a' },
      data: { serverId: 's', server: 'crm', tool: 'find', resultHash: `0x${'0'.repeat(64)}`, resultJson: '"x"', isError: false, cached: false, latencyUs: 1, note: 'broken \ud800' },
      hash: '0x6ff347d89844331997a0bbdd7c85ca6b43a75f1b5ab6aff671452cb03a753e21',
      revision: 1,
      position: 7,
    };
    expect(verifyEventHash(stored)).to.equal(true);
    expect(verifyEventHash(JSON.parse(JSON.stringify(stored)))).to.equal(true);
  });
});
