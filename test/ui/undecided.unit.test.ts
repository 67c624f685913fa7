import { expect } from 'chai';

// ui/app is plain ES modules (ui/package.json: type module): the very file the dashboard serves.
// A path held in a string: tsc does not look for types of a browser module it would not compile.
const MODULE: string = '../../ui/app/undecided.js';
const load = async () => (await import(MODULE)) as { undecided(events: unknown[]): { id: string }[] };

const ev = (id: string, type: string, proposalHash: string) => ({ id, type, data: { proposalHash } });
const A = `0x${'a'.repeat(64)}`;
const B = `0x${'b'.repeat(64)}`;

describe('dashboard: which approval requests of a task still wait', () => {
  it('keeps the second transaction of a task waiting after the first is approved', async () => {
    const { undecided } = await load();
    const trail = [ev('1', 'ApprovalRequested', A), ev('2', 'ApprovalGranted', A), ev('3', 'TaskStepStarted', ''), ev('4', 'ApprovalRequested', B)];
    expect(undecided(trail).map((e) => e.id)).to.deep.equal(['4']);
    expect(undecided([...trail, ev('5', 'ApprovalRejected', B)])).to.deep.equal([]);
    expect(undecided([])).to.deep.equal([]);
  });
});
