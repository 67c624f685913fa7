import { expect } from 'chai';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../../src/core/canonical';
import { computeEventHash, contentOf, createEvent, EventTooLargeError, MAX_EVENT_BYTES, verifyEventHash, type EventContent } from '../../src/core/envelope';
import { ValidationError } from '../../src/core/errors';
import { sha256, sha256Utf8Hex } from '../../src/core/hash';

type HashCase = { event: EventContent; canonical: string; hash: string };
const vectors = JSON.parse(readFileSync(join(__dirname, '../vectors/event-hash.json'), 'utf8')) as { cases: HashCase[] };

/** Rebuild an object with its keys in a random order, recursively. */
function shuffleKeys(value: unknown, rnd: () => number): unknown {
  if (Array.isArray(value)) return value.map((v) => shuffleKeys(v, rnd));
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(() => rnd() - 0.5);
    return Object.fromEntries(entries.map(([k, v]) => [k, shuffleKeys(v, rnd)]));
  }
  return value;
}

const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    fc.maxSafeInteger(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), tie('value'), { maxKeys: 5 }),
  ),
})).value;

describe('event hash (DESIGN.md, shared vectors)', () => {
  for (const [i, c] of vectors.cases.entries()) {
    it(`vector ${i} (${c.event.type}): canonical text and hash match`, () => {
      expect(canonicalJson(contentOf(c.event))).to.equal(c.canonical);
      expect(computeEventHash(c.event)).to.equal(c.hash);
    });
  }

  it('createEvent builds each vector as it is: the same fields in the same order, then its hash', () => {
    for (const c of vectors.cases) {
      const { id, type, version, stream, occurredAt, tenant, actor, correlationId, causationId, data } = c.event;
      const e = createEvent({ id, type, version, stream, tenant, actor, correlationId, causationId, data }, () => new Date(occurredAt));
      expect(e).to.deep.equal({ ...contentOf(c.event), hash: c.hash });
      // Stores and readers see the event as JSON: its text, key order included, is what it was.
      expect(JSON.stringify(e)).to.equal(JSON.stringify({ ...contentOf(c.event), hash: c.hash }));
      expect('correlationId' in e, 'an absent optional is no key at all').to.equal(correlationId !== undefined);
      expect('causationId' in e, 'an absent optional is no key at all').to.equal(causationId !== undefined);
    }
  });

  it('does not hash revision, position or hash', () => {
    const c = vectors.cases[0];
    const recorded = { ...c.event, revision: 7, position: 99, hash: c.hash };
    expect(computeEventHash(recorded)).to.equal(c.hash);
  });

  it('is independent of key order at every depth (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 10 }), jsonValue, { maxKeys: 8 }), fc.integer(), (data, seed) => {
        let s = seed;
        const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
        const e = { ...vectors.cases[0].event, data };
        const shuffled = shuffleKeys(e, rnd) as EventContent;
        expect(computeEventHash(shuffled)).to.equal(computeEventHash(e));
      }),
      { numRuns: 300 },
    );
  });

  it('changes when any data value changes (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        fc.pre(a !== b);
        const base = vectors.cases[0].event;
        expect(computeEventHash({ ...base, data: { x: a } })).to.not.equal(computeEventHash({ ...base, data: { x: b } }));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips unicode and nested data through JSON without changing the hash (property)', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ unit: 'binary' }), jsonValue, { maxKeys: 6 }), (data) => {
        const e = createEvent({ type: 'TaskStarted', stream: 'task-x1', tenant: 'acme', actor: { kind: 'user', id: 'u' }, data });
        const back = JSON.parse(JSON.stringify(e));
        expect(verifyEventHash(back)).to.equal(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses floats and bigints, naming the path', () => {
    const base = vectors.cases[0].event;
    expect(() => computeEventHash({ ...base, data: { amount: 1.5 } })).to.throw(ValidationError, /\$\.data\.amount/);
    expect(() => computeEventHash({ ...base, data: { n: [1, 2 ** 60] } })).to.throw(ValidationError, /data\.n\[1\]/);
    expect(() => computeEventHash({ ...base, data: { n: 10n } as never })).to.throw(ValidationError, /bigint/);
  });

  it('hashes an array hole as null, as every store keeps it (it was left out, or a leading one made the text invalid JSON)', () => {
    const inner: unknown[] = [1];
    inner[2] = 3; // [1, <hole>, 3]
    const leading: unknown[] = [];
    leading[1] = 'x'; // [<hole>, 'x']
    expect(canonicalJson({ a: inner, b: leading })).to.equal('{"a":[1,null,3],"b":[null,"x"]}');
    const e = createEvent({ type: 'TaskStarted', stream: 'task-x1', tenant: 'acme', actor: { kind: 'user', id: 'u' }, data: { a: inner, b: [leading] } });
    expect(verifyEventHash(JSON.parse(JSON.stringify(e))), 'the event as stored (JSON) keeps its hash').to.equal(true);
    const floatInHole: unknown[] = [];
    floatInHole[3] = 1.5;
    expect(() => canonicalJson({ n: floatInHole })).to.throw(ValidationError, /\$\.n\[3\]/);
  });

  it('omits absent optional fields instead of hashing null', () => {
    const base = vectors.cases[0].event;
    const withUndefined = { ...base, correlationId: undefined, causationId: undefined };
    expect(computeEventHash(withUndefined)).to.equal(vectors.cases[0].hash);
  });
});

describe('event size limit (MAX_EVENT_BYTES)', () => {
  const make = (text: string) => createEvent({ type: 'TaskSubmitted', stream: 'task-size', tenant: 'acme', actor: { kind: 'user', id: 'u' }, data: { instruction: text } });

  it('makes an event up to the limit, counting UTF-8 bytes of the canonical JSON, and refuses one over it', () => {
    const small = make('x');
    const overhead = Buffer.byteLength(canonicalJson(contentOf(small))) - 1;
    const fits = make('€'.repeat(Math.floor((MAX_EVENT_BYTES - overhead) / 3)));
    expect(verifyEventHash(fits)).to.equal(true);
    // The same number of characters fits in ASCII; in 3-byte characters one more is over.
    const err = (() => {
      try {
        make('€'.repeat(Math.floor((MAX_EVENT_BYTES - overhead) / 3) + 1));
      } catch (e) {
        return e as EventTooLargeError;
      }
    })();
    expect(err).to.be.instanceOf(EventTooLargeError);
    expect(err!.code).to.equal('EVENT_TOO_LARGE');
    expect(err!.status).to.equal(413);
    expect(err!.details).to.include({ type: 'TaskSubmitted', limit: MAX_EVENT_BYTES });
  });
});

describe('sha256 helpers', () => {
  /** The reference: a Hash object over the UTF-8 bytes Buffer.from makes (lone surrogates become U+FFFD). */
  const reference = (text: string) => `0x${createHash('sha256').update(Buffer.from(text, 'utf8')).digest('hex')}`;
  const utf16 = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 64 });

  it('sha256Utf8Hex hashes the UTF-8 bytes of any string, lone surrogates included (property)', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary' }), utf16), (s) => sha256Utf8Hex(s) === reference(s)), { numRuns: 500 });
    for (const s of ['', 'abc', '\ud800', 'a\udfffb', 'é€𝄞']) expect(sha256Utf8Hex(s)).to.equal(reference(s));
    expect(sha256Utf8Hex('abc')).to.equal('0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('sha256 of one part and of several parts equals the hash of their concatenation (property)', () => {
    const bytes = fc.uint8Array({ maxLength: 80 });
    fc.assert(
      fc.property(fc.array(bytes, { minLength: 1, maxLength: 4 }), (parts) =>
        sha256(...parts).equals(createHash('sha256').update(Buffer.concat(parts)).digest()),
      ),
      { numRuns: 300 },
    );
  });
});
