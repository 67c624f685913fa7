import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { protoKeyPath } from '../../src/core/proto-key';

/**
 * YAML aliases make one object reachable from many places, and an alias inside its own anchor
 * makes a cycle (`a: &x {b: *x}`): the walk looking for a `__proto__` key must visit each object
 * once, or a settings file with a cycle hangs the start (growing memory) instead of being refused,
 * and shared anchors are walked once per path to them.
 */
describe('protoKeyPath walks each object once (YAML aliases share objects and may form cycles)', () => {
  it('an object reached twice is walked once', () => {
    let reads = 0;
    const leaf = {
      get v() {
        reads++;
        return 1;
      },
    };
    let node: unknown = leaf;
    for (let i = 0; i < 10; i++) node = { l: node, r: node };
    expect(protoKeyPath(node)).to.equal(undefined);
    expect(reads, 'reads of the shared leaf').to.equal(1);
  });

  it('a cycle ends the walk (an object holding itself, through a path)', () => {
    let reads = 0;
    const root: Record<string, unknown> = {};
    Object.defineProperty(root, 'self', {
      enumerable: true,
      get() {
        if (++reads > 5) throw new Error('walked the cycle again and again');
        return { back: root };
      },
    });
    expect(protoKeyPath(root)).to.equal(undefined);
  });

  it('a key named __proto__ under an alias is still found, at the first path to it', () => {
    const doc = JSON.parse('{"__proto__":1}') as object;
    expect(protoKeyPath({ a: [{ x: 1 }], b: { c: doc }, d: doc })).to.deep.equal(['b', 'c']);
  });

  it('YAML whose alias points into its own anchor (a value holding itself) is walked to its end', () => {
    const doc = parseYaml('a: &x\n  b: *x\n') as { a: { b: unknown } };
    expect(doc.a.b).to.equal(doc.a);
    expect(protoKeyPath(doc)).to.equal(undefined);
    expect(protoKeyPath(parseYaml('a: &x\n  b: *x\n  __proto__: 1\n'))).to.deep.equal(['a']);
  });
});
