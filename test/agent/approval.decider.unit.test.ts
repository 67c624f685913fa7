import { expect } from 'chai';
import fc from 'fast-check';
import type { Actor } from '../../src/core/envelope';
import { approvalDecider, principalKey, type ApprovalCommand, type ApprovalState } from '../../src/domain/task/approval.decider';

const H1 = `0x${'1'.repeat(64)}`;
const H2 = `0x${'2'.repeat(64)}`;
const ALICE: Actor = { kind: 'user', id: 'alice' };

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
    expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve', approver: ALICE }, fold(waiting))).to.deep.equal([{ type: 'ApprovalGranted', data: { proposalHash: H1 } }]);
    expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'reject', comment: 'no', approver: ALICE }, fold(waiting))[0].type).to.equal('ApprovalRejected');
  });

  it('refuses any other hash with APPROVAL_PROPOSAL_MISMATCH', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (b) => {
        const h = `0x${Buffer.from(b).toString('hex')}`;
        fc.pre(h !== H1);
        expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: h, decision: 'approve', approver: ALICE }, fold(waiting))).to.throw().with.property('code', 'APPROVAL_PROPOSAL_MISMATCH');
      }),
    );
  });

  it('APPROVAL_PROPOSAL_MISMATCH says where the hash waiting is shown', () => {
    const other = `0x${'9'.repeat(64)}`;
    expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: other, decision: 'approve', approver: ALICE }, fold(waiting)))
      .to.throw(/awaitingApproval of GET \/v1\/tasks\/:id, or openmcp tasks show/);
  });

  it('a changed proposal needs its own approval; repeats are no-ops; the other decision is refused', () => {
    const approved = [...waiting, { type: 'ApprovalGranted', data: { proposalHash: H1 } }];
    expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve', approver: ALICE }, fold(approved))).to.deep.equal([]);
    expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'reject', approver: ALICE }, fold(approved))).to.throw().with.property('code', 'APPROVAL_ALREADY_DECIDED');
    expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H2, decision: 'approve', approver: ALICE }, fold(approved))).to.throw().with.property('code', 'APPROVAL_NOT_PENDING');
    const changed = [...approved, { type: 'ApprovalRequested', data: { stepId: 's2', proposalHash: H2, proposalJson: '{}', rule: 'r' } }];
    expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H2, decision: 'approve', approver: ALICE }, fold(changed))).to.have.length(1);
  });

  it('refuses a decision on a proposal whose step has ended, while the task goes on (it was sent without approval after a policy change, or its step failed)', () => {
    // A restarted agent whose policy no longer holds the proposal sends it (PolicyEvaluated allow):
    // a rejection recorded afterwards answered 202 "rejected" for a transaction already on chain.
    const sent = [...waiting, { type: 'TransactionSubmitted', data: { stepId: 's', chainId: 1, txHash: '0x' } }, { type: 'ApprovalRequested', data: { stepId: 's2', proposalHash: H2, proposalJson: '{}', rule: 'r' } }];
    for (const decision of ['approve', 'reject'] as const) {
      expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision, approver: ALICE }, fold(sent)))
        .to.throw(/step s has ended/)
        .with.property('code', 'APPROVAL_NOT_PENDING');
    }
    // The task's other proposal still waits.
    expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H2, decision: 'approve', approver: ALICE }, fold(sent))).to.have.length(1);
    for (const end of ['TaskStepCompleted', 'TaskStepFailed']) {
      const ended = [...waiting, { type: end, data: { stepId: 's' } }];
      expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'reject', approver: ALICE }, fold(ended))).to.throw().with.property('code', 'APPROVAL_NOT_PENDING');
    }
    // A decision recorded before the step ended is still answered as a retry.
    const approved = [...waiting, { type: 'ApprovalGranted', data: { proposalHash: H1 } }, { type: 'TransactionSubmitted', data: { stepId: 's' } }];
    expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve', approver: ALICE }, fold(approved))).to.deep.equal([]);
  });

  it('the only proposal of a task whose step ended is refused in words naming its step, not "has no proposal waiting"', () => {
    for (const end of ['TransactionSubmitted', 'TaskStepFailed']) {
      const ended = [...waiting, { type: end, data: { stepId: 's' } }];
      expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'reject', approver: ALICE }, fold(ended)))
        .to.throw(/step s has ended/)
        .with.property('code', 'APPROVAL_NOT_PENDING');
    }
  });

  it('an old stream (a decision recorded after its step ended, by the release before) still folds; the decision stands', () => {
    for (const [type, decision, other] of [['ApprovalGranted', 'approve', 'reject'], ['ApprovalRejected', 'reject', 'approve']] as const) {
      const old = [...waiting, { type: 'TransactionSubmitted', data: { stepId: 's' } }, { type, data: { proposalHash: H1 } }, { type: 'TaskStepCompleted', data: { stepId: 's' } }];
      const state = fold(old);
      expect(state.decided.get(H1)).to.equal(decision);
      expect(approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision, approver: ALICE }, state)).to.deep.equal([]);
      expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: other, approver: ALICE }, state)).to.throw().with.property('code', 'APPROVAL_ALREADY_DECIDED');
    }
  });

  it('refuses approvals on finished tasks', () => {
    const cancelled = [...waiting, { type: 'TaskCancelled', data: {} }];
    expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve', approver: ALICE }, fold(cancelled))).to.throw().with.property('code', 'APPROVAL_NOT_PENDING');
    expect(() => approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve', approver: ALICE }, fold([]))).to.throw().with.property('code', 'NOT_FOUND');
  });

  describe('several approvers (ApprovalRequested v2 `approvals`)', () => {
    const BOB: Actor = { kind: 'user', id: 'bob' };
    const CAROL: Actor = { kind: 'user', id: 'carol' };
    type Ev = { type: string; data: Record<string, unknown> };
    const quorum = (required: number, selfApproval: boolean, requestedBy: Actor = ALICE): Ev[] => [
      { type: 'TaskSubmitted', data: { instruction: 'x' } },
      { type: 'TaskStarted', data: {} },
      { type: 'ApprovalRequested', data: { stepId: 's', proposalHash: H1, proposalJson: '{}', rule: 'r', approvals: { required, selfApproval, requestedBy } } },
    ];
    const approve = (approver: Actor, comment?: string): ApprovalCommand => ({ type: 'DecideApproval', proposalHash: H1, decision: 'approve', approver, ...(comment ? { comment } : {}) });

    /** Decide and fold, as handleCommand does: the events appended, or the error code. */
    function step(events: { type: string; data: Record<string, unknown> }[], c: ApprovalCommand): { out: { type: string; data: Record<string, unknown> }[] } | { code: string } {
      try {
        const out = approvalDecider.decide(c, fold(events));
        events.push(...out);
        return { out };
      } catch (err) {
        return { code: (err as { code: string }).code };
      }
    }

    it('two approvers: the first is recorded (ApprovalGiven 1 of 2), the second releases it (ApprovalGiven 2 of 2 + ApprovalGranted in one append)', () => {
      const es = quorum(2, true);
      expect(step(es, approve(BOB, 'ok by me'))).to.deep.equal({ out: [{ type: 'ApprovalGiven', data: { proposalHash: H1, approver: BOB, given: 1, required: 2, comment: 'ok by me' } }] });
      expect(fold(es).decided.get(H1)).to.equal(undefined);
      expect(step(es, approve(CAROL))).to.deep.equal({
        out: [
          { type: 'ApprovalGiven', data: { proposalHash: H1, approver: CAROL, given: 2, required: 2 } },
          { type: 'ApprovalGranted', data: { proposalHash: H1 } },
        ],
      });
      expect(fold(es).decided.get(H1)).to.equal('approve');
    });

    it('the same principal approving twice counts once (a no-op), also under another kind (another role\'s token of the same subject)', () => {
      const es = quorum(2, true);
      step(es, approve(BOB));
      expect(step(es, approve(BOB))).to.deep.equal({ out: [] });
      expect(step(es, approve({ kind: 'agent', id: 'bob' }))).to.deep.equal({ out: [] });
      expect(step(es, approve(CAROL))).to.have.nested.property('out[1].type', 'ApprovalGranted');
    });

    it('selfApproval false: the submitter cannot approve with a token of another role (same subject, another kind)', () => {
      const es = quorum(2, false, { kind: 'agent', id: 'alice' });
      expect(step(es, approve({ kind: 'user', id: 'alice' }))).to.deep.equal({ code: 'APPROVAL_SELF_NOT_ALLOWED' });
    });

    it('selfApproval false: the task submitter may not approve (403 APPROVAL_SELF_NOT_ALLOWED), may reject; with one approver too', () => {
      for (const required of [1, 2]) {
        const es = quorum(required, false);
        const r = step(es, approve(ALICE));
        expect(r).to.deep.equal({ code: 'APPROVAL_SELF_NOT_ALLOWED' });
        expect(() => approvalDecider.decide(approve(ALICE), fold(es))).to.throw().with.property('status', 403);
        expect(step(es, { type: 'DecideApproval', proposalHash: H1, decision: 'reject', approver: ALICE })).to.have.nested.property('out[0].type', 'ApprovalRejected');
      }
      const one = quorum(1, false);
      expect(step(one, approve(BOB))).to.deep.equal({ out: [{ type: 'ApprovalGranted', data: { proposalHash: H1 } }] });
    });

    it('one rejection rejects, whatever approvals came before; the other decision is then refused', () => {
      const es = quorum(3, true);
      step(es, approve(BOB));
      step(es, approve(CAROL));
      expect(step(es, { type: 'DecideApproval', proposalHash: H1, decision: 'reject', approver: BOB })).to.have.nested.property('out[0].type', 'ApprovalRejected');
      expect(step(es, approve({ kind: 'user', id: 'dave' }))).to.deep.equal({ code: 'APPROVAL_ALREADY_DECIDED' });
    });

    const principals: Actor[] = [ALICE, BOB, CAROL, { kind: 'agent', id: 'bob' }, { kind: 'user', id: 'dave' }];
    const commands = fc.array(fc.record({ who: fc.integer({ min: 0, max: principals.length - 1 }), reject: fc.integer({ min: 0, max: 9 }).map((n) => n < 3), comment: fc.option(fc.string({ maxLength: 5 }), { nil: undefined }) }), { maxLength: 14 });

    it('released only by `required` distinct approvers, never by the submitter when selfApproval is false, never after a rejection; at most one final decision (property)', () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.integer({ min: 0, max: principals.length - 1 }), commands, (required, selfApproval, requester, cmds) => {
          const es = quorum(required, selfApproval, principals[requester]);
          const approvedBy = new Set<string>();
          let rejectedBefore = false;
          for (const c of cmds) {
            const approver = principals[c.who];
            const r = step(es, c.reject ? { type: 'DecideApproval', proposalHash: H1, decision: 'reject', approver } : approve(approver, c.comment));
            const types = 'out' in r ? r.out.map((e) => e.type) : [];
            if (types.includes('ApprovalGranted')) {
              expect(rejectedBefore, 'granted after a rejection').to.equal(false);
              if (required > 1) {
                const given = es.filter((e) => e.type === 'ApprovalGiven').map((e) => principalKey(e.data.approver as Actor));
                expect(new Set(given).size).to.equal(given.length);
                expect(given).to.have.length(required);
                if (!selfApproval) expect(given).to.not.include(principalKey(principals[requester]));
              } else if (!selfApproval) {
                expect(principalKey(approver)).to.not.equal(principalKey(principals[requester]));
              }
            }
            if (types.includes('ApprovalRejected')) rejectedBefore = true;
            if (!c.reject && 'code' in r && r.code === 'APPROVAL_SELF_NOT_ALLOWED') {
              expect(selfApproval).to.equal(false);
              expect(principalKey(approver)).to.equal(principalKey(principals[requester]));
            }
            if (!c.reject && types.includes('ApprovalGiven')) approvedBy.add(principalKey(approver));
          }
          const finals = es.filter((e) => e.type === 'ApprovalGranted' || e.type === 'ApprovalRejected');
          expect(finals.length).to.be.at.most(1);
          // Every ApprovalGiven counts one more distinct approver, up to `required`.
          const counts = es.filter((e) => e.type === 'ApprovalGiven').map((e) => e.data.given);
          expect(counts).to.deep.equal(counts.map((_, i) => i + 1));
          expect(counts.length).to.be.at.most(required > 1 ? required : 0);
          // Enough distinct approvers (the submitter only if allowed) before any rejection means it was released.
          if (required > 1 && approvedBy.size >= required) expect(finals[0]?.type).to.equal('ApprovalGranted');
        }),
        { numRuns: 300 },
      );
    });

    it('a v1 request (no `approvals`) behaves exactly as before: the first approval of anyone releases it, no ApprovalGiven (property)', () => {
      fc.assert(
        fc.property(commands, (cmds) => {
          const es: Ev[] = [...waiting];
          for (const c of cmds) step(es, c.reject ? { type: 'DecideApproval', proposalHash: H1, decision: 'reject', approver: principals[c.who] } : approve(principals[c.who], c.comment));
          expect(es.filter((e) => e.type === 'ApprovalGiven')).to.deep.equal([]);
          const finals = es.slice(waiting.length);
          expect(finals.length).to.equal(cmds.length ? 1 : 0);
          if (cmds.length) expect(finals[0].type).to.equal(cmds[0].reject ? 'ApprovalRejected' : 'ApprovalGranted');
        }),
      );
    });
  });
});
