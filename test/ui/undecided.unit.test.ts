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

  it('a release the policy in force reopened (ApprovalRequirementChanged after ApprovalGranted) waits again; a rejection stays final; read in log order', async () => {
    const { undecided } = await load();
    const at = (position: number, e: ReturnType<typeof ev>) => ({ ...e, position });
    // Gathered one type at a time, as the Approvals page reads them: the log order is by position.
    const trail = [at(1, ev('1', 'ApprovalRequested', A)), at(3, ev('3', 'ApprovalRequirementChanged', A)), at(2, ev('2', 'ApprovalGranted', A))];
    expect(undecided(trail).map((e) => e.id)).to.deep.equal(['1']);
    expect(undecided([...trail, at(4, ev('4', 'ApprovalGranted', A))])).to.deep.equal([]);
    expect(undecided([at(1, ev('1', 'ApprovalRequested', A)), at(2, ev('2', 'ApprovalRejected', A)), at(3, ev('3', 'ApprovalRequirementChanged', A))])).to.deep.equal([]);
    // A change of a proposal still waiting keeps it waiting.
    expect(undecided([at(1, ev('1', 'ApprovalRequested', B)), at(2, ev('2', 'ApprovalRequirementChanged', B))]).map((e) => e.id)).to.deep.equal(['1']);
  });
});

describe('dashboard: a proposal sent without a decision no longer waits', () => {
  it('an ApprovalRequested whose step sent its transaction (a restarted agent no longer held it) is not shown; the next one is', async () => {
    const { undecided } = await load();
    const step = (id: string, type: string, data: Record<string, unknown>) => ({ id, type, data });
    const trail = [step('1', 'ApprovalRequested', { stepId: 's1', proposalHash: A }), step('2', 'TransactionSubmitted', { stepId: 's1' }), step('3', 'ApprovalRequested', { stepId: 's2', proposalHash: B })];
    expect(undecided(trail).map((e) => e.id)).to.deep.equal(['3']);
  });
});
