import { expect } from 'chai';
import fc from 'fast-check';
import { approvalDecider, type ApprovalState } from '../../src/domain/task/approval.decider';

const H1 = `0x${'1'.repeat(64)}`;
const H2 = `0x${'2'.repeat(64)}`;

function fold(events: { type: string; data: Record<string, unknown> }[]): ApprovalState {
  return events.reduce(approvalDecider.evolve, approvalDecider.initialState());
}

const waiting = [
  { type: 'TaskSubmitted', data: { instruction: 'x' } },
  { type: 'TaskStarted', data: {} },
  { type: 'ApprovalRequested', data: { stepId: 's', proposalHash: H1, proposalJson: '{}', rule: 'r' } },
];

describe('approval decider', () => {
  it('releases exactly the proposal named by its hash', () => {
    expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve' }, fold(waiting))).to.deep.equal([{ type: 'ApprovalGranted', data: { proposalHash: H1 } }]);
    expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'reject', comment: 'no' }, fold(waiting))[0].type).to.equal('ApprovalRejected');
  });

  it('refuses any other hash with APPROVAL_PROPOSAL_MISMATCH', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => {
        const h = `0x${Buffer.from(b).toString('hex')}`;
        fc.pre(h !== H1);
        expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: h, decision: 'approve' }, fold(waiting))).to.throw().with.property('code', 'APPROVAL_PROPOSAL_MISMATCH');
      }),
    );
  });

  it('a changed proposal needs its own approval; repeats are no-ops; the other decision is refused', () => {
    const approved = [...waiting, { type: 'ApprovalGranted', data: { proposalHash: H1 } }];
    expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve' }, fold(approved))).to.deep.equal([]);
    expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'reject' }, fold(approved))).to.throw().with.property('code', 'APPROVAL_ALREADY_DECIDED');
    expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H2, decision: 'approve' }, fold(approved))).to.throw().with.property('code', 'APPROVAL_NOT_PENDING');
    const changed = [...approved, { type: 'ApprovalRequested', data: { stepId: 's2', proposalHash: H2, proposalJson: '{}', rule: 'r' } }];
    expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H2, decision: 'approve' }, fold(changed))).to.have.length(1);
  });

  it('refuses approvals on finished tasks', () => {
    const cancelled = [...waiting, { type: 'TaskCancelled', data: {} }];
    expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve' }, fold(cancelled))).to.throw().with.property('code', 'APPROVAL_NOT_PENDING');
    expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve' }, fold([]))).to.throw().with.property('code', 'NOT_FOUND');
  });
});
