import { expect } from 'chai';
import fc from 'fast-check';
import { parseDocument } from 'yaml';
import { duplicateJsonKey } from '../../src/core/json-duplicate-key';

/** Serialize `v` as JSON, writing `extra` as a second copy of the key `repeated` in the object at `path`. */
function withKeyTwice(v: unknown, path: string[], repeated: string, extra: unknown): string {
  // `at`: the rest of the path to the object that gets the copy; null off that path.
  const walk = (x: unknown, at: string[] | null): string => {
    if (Array.isArray(x)) return `[${x.map((y) => walk(y, null)).join(',')}]`;
    if (x && typeof x === 'object') {
      const entries = Object.entries(x).map(([k, y]) => `${JSON.stringify(k)}:${walk(y, at?.length && at[0] === k ? at.slice(1) : null)}`);
      if (at?.length === 0) entries.unshift(`${JSON.stringify(repeated)}:${JSON.stringify(extra)}`);
      return `{${entries.join(',')}}`;
    }
    return JSON.stringify(x);
  };
  return walk(v, path);
}

describe('duplicateJsonKey: a key named twice in one JSON object', () => {
  it('names the key as written and where its second copy starts', () => {
    expect(duplicateJsonKey('{"a": 1, "a": 2}')).to.deep.equal({ key: '"a"', line: 1, column: 10 });
    expect(duplicateJsonKey('{"x": {"a": 1,\n  "\\u0061": 2}}')).to.deep.equal({ key: '"\\u0061"', line: 2, column: 3 });
    expect(duplicateJsonKey('[{"a": 1}, {"a": 2}]')).to.equal(undefined);
    expect(duplicateJsonKey('{"a": "\\"a\\": 1, \\\\", "b": ["a", "a"], "c": {"a": {}}}')).to.equal(undefined);
    expect(duplicateJsonKey('{"a\\\\": 1, "a\\\\": 2}')).to.deep.equal({ key: '"a\\\\"', line: 1, column: 12 });
    expect(duplicateJsonKey('{"__proto__": 1, "__proto__": 2}')?.key).to.equal('"__proto__"');
  });

  it('property: none in JSON.stringify output; a key repeated in any object of it is found, at its second copy', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.nat(), fc.jsonValue({ maxDepth: 1 }), (value, pick, extra) => {
        const text = JSON.stringify(value, null, pick % 2 ? 2 : undefined);
        expect(duplicateJsonKey(text)).to.equal(undefined);
        // Every object with a key, by its path from the root; repeat one of its keys there.
        const objects: { path: string[]; keys: string[] }[] = [];
        const visit = (x: unknown, path: string[]) => {
          if (Array.isArray(x)) return; // objects inside arrays are reached by a path of keys only through objects
          if (x && typeof x === 'object') {
            const keys = Object.keys(x);
            if (keys.length) objects.push({ path, keys });
            for (const k of keys) visit((x as Record<string, unknown>)[k], [...path, k]);
          }
        };
        visit(value, []);
        if (!objects.length) return;
        const o = objects[pick % objects.length];
        const repeated = o.keys[pick % o.keys.length];
        const twice = withKeyTwice(value, o.path, repeated, extra);
        const found = duplicateJsonKey(twice);
        expect(found?.key, twice).to.equal(JSON.stringify(repeated));
      }),
      { numRuns: 500 },
    );
  });
});

// Adversarial JSON: keys and strings from a small alphabet of the characters the scan must not
// misread (quotes, backslashes, brackets, commas, colons), each spelled raw or as an escape at
// random, with random whitespace between tokens, so equal keys often differ as written. The
// oracle is the tree the text was written from: the first key that an object already holds, in
// the order of the text. The `yaml` parser (DUPLICATE_KEY) is a second, independent judge, and the
// browser's twin must answer as the server's scan does, position included.
type Tree = { obj: [string, Tree][] } | { arr: Tree[] } | { str: string } | { lit: string };

const char = fc.constantFrom('a', 'b', '"', '\\', '{', '}', '[', ']', ',', ':', ' ', '/', '\n', 'é', '\u2028', '😀');
const jsonString = fc.array(char, { maxLength: 3 }).map((cs) => cs.join(''));
// Keys: often one of a few, so that objects name one twice.
const jsonKey = fc.oneof(fc.constantFrom('a', '"', '\\', '}', 'a:', ',"'), jsonString);
const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
  t: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'tree' },
    fc.record({ lit: fc.constantFrom('0', '-1.5e3', 'true', 'false', 'null') }),
    fc.record({ str: jsonString }),
    { arbitrary: fc.record({ arr: fc.array(tie('t'), { maxLength: 3 }) }), weight: 2 },
    { arbitrary: fc.record({ obj: fc.array(fc.tuple(jsonKey, tie('t')), { maxLength: 4 }) }), weight: 4 },
  ),
})).t;

/** `t` as JSON text, spelled by `choice` (a stream of small numbers), and the first key it names twice in one object, where that copy starts. */
function writeTree(t: Tree, choice: () => number): { text: string; twice?: { key: string; offset: number } } {
  let text = '';
  let twice: { key: string; offset: number } | undefined;
  const ws = () => (text += ['', '', ' ', '\n', '\t', '\r\n  '][choice() % 6]);
  const hex4 = (n: number) => {
    const h = n.toString(16).padStart(4, '0');
    return choice() % 2 ? h : h.toUpperCase();
  };
  const str = (s: string) => {
    let out = '"';
    for (const unit of s.split('')) {
      const code = unit.charCodeAt(0);
      const escaped = `\\u${hex4(code)}`;
      const short = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '/': '\\/' }[unit];
      if (unit === '"' || unit === '\\' || unit === '\n') out += choice() % 2 ? short : escaped;
      else out += [unit, escaped, short ?? unit][choice() % 3];
    }
    return `${out}"`;
  };
  const write = (x: Tree) => {
    ws();
    if ('lit' in x) text += x.lit;
    else if ('str' in x) text += str(x.str);
    else if ('arr' in x) {
      text += '[';
      x.arr.forEach((y, i) => {
        if (i) text += ',';
        write(y);
      });
      if (!x.arr.length) ws();
      text += ']';
    } else {
      text += '{';
      const seen = new Set<string>();
      x.obj.forEach(([k, y], i) => {
        if (i) text += ',';
        ws();
        const token = str(k);
        if (seen.has(k) && !twice) twice = { key: token, offset: text.length };
        seen.add(k);
        text += token;
        ws();
        text += ':';
        write(y);
      });
      if (!x.obj.length) ws();
      text += '}';
    }
    ws();
  };
  write(t);
  return { text, twice };
}

describe('duplicateJsonKey on adversarial JSON: escapes, look-alike strings, whitespace', () => {
  let browser: (text: string) => unknown;
  before(async () => {
    const twin = '../../ui/app/verify/json-duplicate-key.js'; // a plain ES module, untyped
    browser = ((await import(twin)) as { duplicateJsonKey: (text: string) => unknown }).duplicateJsonKey;
  });

  it('property: finds exactly the key the text names twice first, where it is; as yaml and the browser twin judge', () => {
    fc.assert(
      fc.property(tree, fc.array(fc.nat(99), { minLength: 1, maxLength: 64 }), (t, choices) => {
        let n = 0;
        const { text, twice } = writeTree(t, () => choices[n++ % choices.length] + Math.floor(n / choices.length));
        JSON.parse(text);
        const found = duplicateJsonKey(text);
        const before = twice && text.slice(0, twice.offset);
        const expected = twice && before !== undefined && { key: twice.key, line: before.split('\n').length, column: twice.offset - before.lastIndexOf('\n') };
        expect(found, text).to.deep.equal(expected);
        expect(browser(text), text).to.deep.equal(found);
        const doc = parseDocument(text, { uniqueKeys: true });
        // JSON that YAML reads without another complaint (a line break between a key and its colon is one).
        if (doc.errors.every((e) => e.code === 'DUPLICATE_KEY')) expect(doc.errors.length > 0, text).to.equal(found !== undefined);
      }),
      { numRuns: 2000 },
    );
  });
});
