import { expect } from 'chai';
import fc from 'fast-check';
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
