import { expect } from 'chai';
import fc from 'fast-check';
import { makeHarness, type Harness } from './support/harness';

/** Whether `v` holds a key the REST parser refuses as prototype poisoning (`__proto__`, `constructor`). */
function poisonous(v: unknown): boolean {
  if (!v || typeof v !== 'object') return false;
  if (Array.isArray(v)) return v.some(poisonous);
  return Object.keys(v).some((k) => k === '__proto__' || k === 'constructor' || poisonous((v as Record<string, unknown>)[k]));
}

/** `v` as JSON text spelled by `choice`: whitespace around every token, each string unit raw or as a \u escape. */
function write(v: unknown, choice: () => number): string {
  const ws = () => ['', '', ' ', '\n', '\t', '\r\n '][choice() % 6];
  const str = (s: string) =>
    `"${s.split('').map((u) => (choice() % 3 === 0 ? `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}` : JSON.stringify(u).slice(1, -1))).join('')}"`;
  const value = (x: unknown): string => {
    if (typeof x === 'string') return str(x);
    if (Array.isArray(x)) return `[${ws()}${x.map((y) => `${ws()}${value(y)}${ws()}`).join(',')}]`;
    if (x && typeof x === 'object') return `{${ws()}${Object.entries(x).map(([k, y]) => `${ws()}${str(k)}${ws()}:${ws()}${value(y)}${ws()}`).join(',')}}`;
    return JSON.stringify(x);
  };
  return `${ws()}${value(v)}${ws()}`;
}

/**
 * The REST body parser (fastify's JSON parser, then the duplicate-key scan) against JSON.parse:
 * every JSON text naming no key twice in one object is taken, and parsed as JSON.parse does,
 * whatever its whitespace, escapes, nesting or numbers.
 */
describe('REST JSON bodies: valid JSON without a key named twice is taken as JSON.parse reads it', () => {
  let h: Harness;
  before(async () => {
    h = await makeHarness();
    // A route of the app's own parser, answering what it parsed.
    h.app.post('/test/echo', async (request) => ({ body: request.body }));
  });
  after(() => h.close());

  it('property: accepted and equal to JSON.parse', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 5 }).filter((v) => !poisonous(v)), fc.array(fc.nat(99), { minLength: 1, maxLength: 32 }), async (v, choices) => {
        let n = 0;
        const text = write(v, () => choices[n++ % choices.length] + Math.floor(n / choices.length));
        const res = await h.call({ method: 'POST', url: '/test/echo', headers: { 'content-type': 'application/json' }, payload: text });
        expect(res.statusCode, `${text}\n${res.body}`).to.equal(200);
        expect(res.json().body, text).to.deep.equal(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });
});
