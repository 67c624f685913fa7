import { expect } from 'chai';
import { spreadEndToEnd, summarize } from './file-timing';

describe('test/support/file-timing.ts: the slow-first order of npm test', () => {
  it('summarize: spans slowest first, the wall time from the first start to the last end, their sum', () => {
    const jsonl = [
      { file: 'a', pid: 1, start: 0, end: 5 },
      { file: 'b', pid: 2, start: 1, end: 9 },
      { file: 'c', pid: 1, start: 5, end: 6 },
    ].map((s) => JSON.stringify(s)).join('\n') + '\n';
    expect(summarize(jsonl)).to.deep.equal({ files: [{ file: 'b', ms: 8 }, { file: 'a', ms: 5 }, { file: 'c', ms: 1 }], wallMs: 9, sumMs: 14 });
  });

  it('spreadEndToEnd: an end-to-end file at most every third place, each kind still slowest first, none lost', () => {
    const files = ['x.e2e.test.ts', 'y.e2e.test.ts', 'a.int.test.ts', 'z.e2e.test.ts', 'b.unit.test.ts', 'c.int.test.ts', 'd.int.test.ts', 'e.int.test.ts'];
    expect(spreadEndToEnd(files)).to.deep.equal(['x.e2e.test.ts', 'a.int.test.ts', 'b.unit.test.ts', 'y.e2e.test.ts', 'c.int.test.ts', 'd.int.test.ts', 'z.e2e.test.ts', 'e.int.test.ts']);
    expect(spreadEndToEnd(['p.e2e.test.ts', 'q.e2e.test.ts'])).to.deep.equal(['p.e2e.test.ts', 'q.e2e.test.ts']);
    expect(spreadEndToEnd([])).to.deep.equal([]);
  });
});
