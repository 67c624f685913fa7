import { expect } from 'chai';
import fc from 'fast-check';
import type { Actor } from '../../src/core/envelope';
import type { RecordedEvent } from '../../src/core/envelope';
import { approvalDecider, principalKey, type ApprovalState } from '../../src/domain/task/approval.decider';
import { approvalRequirementChange } from '../../src/domain/task/approval-requirement';
import { applyTaskEvent, emptyTaskView, heldProposal } from '../../src/agent/runtime/task-view';

// ui/app is plain ES modules (ui/package.json: type module): the very file the dashboard serves.
type Progress = {
  required: number;
  selfApproval: boolean;
  requestedBy?: Actor;
  approvers: (Actor & { at: string; you: boolean })[];
  youApproved: boolean;
  youSubmitted: boolean;
  otherTenant: boolean;
  mayApprove: boolean;
  mayReject: boolean;
};
type Me = { tenant?: string; actor?: Actor };
type Module = {
  approvalProgress(request: unknown, given: unknown[], me: Me): Progress;
  pendingApprovals(events: unknown[], me: Me): { e: { id: string }; progress: Progress }[];
  changesApprovals(n: { type: string; taskId?: string }, shown: Set<string>): boolean;
};
// A path held in a string: tsc does not look for types of a browser module it would not compile.
const MODULE: string = '../../ui/app/approval-progress.js';
const load = async () => (await import(MODULE)) as Module;

const H1 = `0x${'1'.repeat(64)}`;
const H2 = `0x${'2'.repeat(64)}`;
const ALICE: Actor = { kind: 'user', id: 'key-alice' };
const BOB: Actor = { kind: 'user', id: 'key-bob' };
const CAROL: Actor = { kind: 'user', id: 'key-carol' };
const meAs = (actor: Actor, tenant = 'acme'): Me => ({ tenant, actor });

let position = 0;
const ev = (type: string, data: Record<string, unknown>, actor: Actor = { kind: 'agent', id: 'worker' }) => ({
  id: `e${++position}`,
  type,
  position,
  tenant: 'acme',
  actor,
  occurredAt: `2026-12-05T10:00:${String(position % 60).padStart(2, '0')}.000Z`,
  data,
});
const requested = (hash: string, approvals?: { required: number; selfApproval: boolean; requestedBy: Actor }) =>
  ev('ApprovalRequested', { stepId: 's', proposalHash: hash, proposalJson: '{}', rule: 'method.approvalAbove', ...(approvals ? { approvals } : {}) });
const given = (hash: string, approver: Actor, n: number, required: number) => ev('ApprovalGiven', { proposalHash: hash, approver, given: n, required }, approver);

describe('dashboard: where a proposal needing several approvers stands', () => {
  it('counts the recorded ApprovalGiven events: after a reload the first approver sees "1 of 2" and may not approve again', async () => {
    const { pendingApprovals } = await load();
    const trail = [requested(H1, { required: 2, selfApproval: false, requestedBy: ALICE }), given(H1, BOB, 1, 2)];
    const [bob] = pendingApprovals(trail, meAs(BOB));
    expect(bob.e.id).to.equal(trail[0].id);
    expect(bob.progress.required).to.equal(2);
    expect(bob.progress.approvers.map((a) => a.id)).to.deep.equal([BOB.id]);
    expect(bob.progress.approvers[0]).to.include({ at: trail[1].occurredAt, you: true });
    expect(bob.progress).to.include({ youApproved: true, youSubmitted: false, mayApprove: false, mayReject: true });
    // Carol, another approver, sees the same count and may approve: hers completes it.
    expect(pendingApprovals(trail, meAs(CAROL))[0].progress).to.include({ youApproved: false, mayApprove: true });
    // Once granted, nothing waits.
    expect(pendingApprovals([...trail, given(H1, CAROL, 2, 2), ev('ApprovalGranted', { proposalHash: H1 }, CAROL)], meAs(BOB))).to.deep.equal([]);
  });

  it('offers the submitter no Approve under selfApproval: false (they may still reject); with selfApproval they may approve', async () => {
    const { approvalProgress } = await load();
    const four = approvalProgress(requested(H1, { required: 2, selfApproval: false, requestedBy: ALICE }), [], meAs(ALICE));
    expect(four).to.include({ youSubmitted: true, mayApprove: false, mayReject: true });
    const self = approvalProgress(requested(H1, { required: 2, selfApproval: true, requestedBy: ALICE }), [], meAs(ALICE));
    expect(self).to.include({ youSubmitted: true, mayApprove: true });
    // The same principal under another kind (an agent token of the same subject) is still the submitter.
    expect(approvalProgress(requested(H1, { required: 1, selfApproval: false, requestedBy: ALICE }), [], meAs({ kind: 'agent', id: ALICE.id })).mayApprove).to.equal(false);
  });

  it('reads a v1 request as one approver, anyone; knows nothing of "you" without an actor (older server) or in another tenant', async () => {
    const { approvalProgress } = await load();
    const v1 = approvalProgress(requested(H1), [], meAs(ALICE));
    expect(v1).to.deep.equal({ required: 1, selfApproval: true, approvers: [], youApproved: false, youSubmitted: false, otherTenant: false, mayApprove: true, mayReject: true });
    const r = requested(H1, { required: 2, selfApproval: false, requestedBy: ALICE });
    expect(approvalProgress(r, [given(H1, ALICE, 1, 2)], { tenant: 'acme' })).to.include({ youApproved: false, youSubmitted: false, mayApprove: true });
    // A cross-tenant reader whose id happens to equal the submitter's in another tenant: not "you", and no decision (404 there).
    expect(approvalProgress(r, [], meAs(ALICE, 'globex'))).to.include({ otherTenant: true, youSubmitted: false, mayApprove: false, mayReject: false });
  });

  it("counts only this proposal's approvals, each principal once", async () => {
    const { pendingApprovals } = await load();
    const q = { required: 3, selfApproval: true, requestedBy: ALICE };
    const trail = [requested(H1, q), given(H1, BOB, 1, 3), requested(H2, q), given(H2, CAROL, 1, 3), given(H1, { kind: 'agent', id: BOB.id }, 1, 3)];
    const out = pendingApprovals(trail, meAs(CAROL));
    expect(out.map((p) => [p.progress.approvers.map((a) => a.id), p.progress.youApproved])).to.deep.equal([
      [[BOB.id], false],
      [[CAROL.id], true],
    ]);
  });

  it('agrees with the approval decider on who has approved, whatever the order of approvals (property)', async () => {
    const { pendingApprovals } = await load();
    const people = ['key-a', 'key-b', 'key-c', 'key-d'];
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 4 }),
        fc.boolean(),
        fc.array(fc.record({ who: fc.constantFrom(...people), kind: fc.constantFrom('user', 'agent') }), { maxLength: 8 }),
        fc.constantFrom(...people),
        (required, selfApproval, votes, viewer) => {
          const submitter: Actor = { kind: 'user', id: people[0] };
          const trail = [ev('TaskSubmitted', { instruction: 'x' }, submitter), ev('TaskStarted', {}), requested(H1, { required, selfApproval, requestedBy: submitter })];
          let state: ApprovalState = trail.reduce(approvalDecider.evolve, approvalDecider.initialState());
          for (const v of votes) {
            const approver = { kind: v.kind as Actor['kind'], id: v.who };
            let drafts;
            try {
              drafts = approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve', approver }, state);
            } catch {
              continue; // the submitter under four-eyes, or already released
            }
            for (const d of drafts) {
              const e = ev(d.type, d.data as Record<string, unknown>, approver);
              trail.push(e);
              state = approvalDecider.evolve(state, e);
            }
          }
          const out = pendingApprovals(trail, meAs({ kind: 'user', id: viewer }));
          if (state.decided.get(H1) === 'approve') {
            expect(out).to.deep.equal([]);
            return;
          }
          const server = [...(state.given.get(H1)?.values() ?? [])].map(principalKey);
          expect(out).to.have.length(1);
          const p = out[0].progress;
          expect(p.approvers.map((a) => a.id)).to.deep.equal(server);
          expect(p.youApproved).to.equal(server.includes(viewer));
          // Approve is offered exactly when the decider would count it as a new approval.
          let counted = false;
          try {
            counted = approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve', approver: { kind: 'user', id: viewer } }, state).length > 0;
          } catch {
            counted = false;
          }
          expect(p.mayApprove).to.equal(counted);
        },
      ),
    );
  });
});

describe('dashboard: a proposal whose requirement the policy changed while it waited (ApprovalRequirementChanged)', () => {
  const changed = (hash: string, approvals: { required: number; selfApproval: boolean; requestedBy: Actor }, previous: { required: number; selfApproval: boolean }, approvers: Actor[], reopened: boolean) =>
    ev('ApprovalRequirementChanged', { stepId: 's', proposalHash: hash, approvals, previous, approvers, reopened, rule: 'method.approvalAbove', policy: 'acme/*' });

  it('raised 1 → 2 after one approval released it: waits again, "1 of 2", the first approver may not approve again, another may', async () => {
    const { pendingApprovals } = await load();
    const trail = [requested(H1), ev('ApprovalGranted', { proposalHash: H1 }, BOB), changed(H1, { required: 2, selfApproval: true, requestedBy: ALICE }, { required: 1, selfApproval: true }, [BOB], true)];
    const [bob] = pendingApprovals(trail, meAs(BOB));
    expect(bob.progress).to.deep.include({ required: 2, changedFrom: { required: 1, selfApproval: true, reopened: true, at: trail[2].occurredAt } });
    expect(bob.progress.approvers.map((a) => [a.id, a.at])).to.deep.equal([[BOB.id, trail[2].occurredAt]]);
    expect(bob.progress).to.include({ youApproved: true, mayApprove: false });
    expect(pendingApprovals(trail, meAs(CAROL))[0].progress).to.include({ mayApprove: true });
    const done = [...trail, given(H1, CAROL, 2, 2), ev('ApprovalGranted', { proposalHash: H1 }, CAROL)];
    expect(pendingApprovals(done, meAs(BOB))).to.deep.equal([]);
  });

  it('lowered 3 → 2 with two approvals: the count is met, and a counted approver may approve again (that releases it)', async () => {
    const { pendingApprovals } = await load();
    const q3 = { required: 3, selfApproval: true, requestedBy: ALICE };
    const trail = [requested(H1, q3), given(H1, BOB, 1, 3), given(H1, CAROL, 2, 3), changed(H1, { ...q3, required: 2 }, { required: 3, selfApproval: true }, [BOB, CAROL], false)];
    const [bob] = pendingApprovals(trail, meAs(BOB));
    expect(bob.progress.approvers.map((a) => [a.id, a.at])).to.deep.equal([[BOB.id, trail[1].occurredAt], [CAROL.id, trail[2].occurredAt]]);
    expect(bob.progress).to.include({ required: 2, youApproved: true, mayApprove: true });
  });

  it('selfApproval turned off: the submitter\'s approval no longer counts and they may not approve', async () => {
    const { pendingApprovals } = await load();
    const q = { required: 2, selfApproval: true, requestedBy: ALICE };
    const trail = [requested(H1, q), given(H1, ALICE, 1, 2), changed(H1, { ...q, selfApproval: false }, { required: 2, selfApproval: true }, [], false)];
    expect(pendingApprovals(trail, meAs(ALICE))[0].progress).to.include({ selfApproval: false, youApproved: false, youSubmitted: true, mayApprove: false, mayReject: true });
    expect(pendingApprovals(trail, meAs(ALICE))[0].progress.approvers).to.deep.equal([]);
  });
});

describe('dashboard and server agree after policy changes', () => {
  it('on who has approved, what is asked, and whether Approve counts, with requirement changes among the approvals (property)', async () => {
    const { pendingApprovals } = await load();
    const people = ['key-a', 'key-b', 'key-c', 'key-d'];
    const op = fc.oneof(
      fc.record({ vote: fc.constantFrom(...people), kind: fc.constantFrom('user', 'agent') }),
      fc.record({ required: fc.integer({ min: 1, max: 4 }), selfApproval: fc.boolean() }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.array(op, { maxLength: 10 }), fc.constantFrom(...people), (required, selfApproval, ops, viewer) => {
        const submitter: Actor = { kind: 'user', id: people[0] };
        const trail = [ev('TaskSubmitted', { instruction: 'x' }, submitter), ev('TaskStarted', {}), requested(H1, { required, selfApproval, requestedBy: submitter })];
        const state = () => trail.reduce(approvalDecider.evolve, approvalDecider.initialState());
        for (const o of ops) {
          if ('vote' in o) {
            const approver = { kind: o.kind as Actor['kind'], id: o.vote };
            try {
              for (const d of approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve', approver }, state())) trail.push(ev(d.type, d.data as Record<string, unknown>, approver));
            } catch {
              /* the submitter under four-eyes */
            }
          } else {
            // The runtime under a policy asking this now (as chain-steps records it).
            const held = heldProposal(trail.reduce((v, e) => applyTaskEvent(v, e as unknown as RecordedEvent), emptyTaskView('t')), H1)!;
            const change = approvalRequirementChange(held, { ...o, requestedBy: submitter });
            if (change) trail.push(ev('ApprovalRequirementChanged', { stepId: 's', proposalHash: H1, ...change, rule: 'r', policy: 'acme/*' }));
          }
        }
        const st = state();
        const out = pendingApprovals(trail, meAs({ kind: 'user', id: viewer }));
        if (st.decided.get(H1) === 'approve') {
          expect(out).to.deep.equal([]);
          return;
        }
        expect(out).to.have.length(1);
        const p = out[0].progress;
        expect(p.approvers.map((a) => a.id)).to.deep.equal([...(st.given.get(H1)?.values() ?? [])].map(principalKey));
        expect({ required: p.required, selfApproval: p.selfApproval }).to.deep.equal({ required: st.requested.get(H1)!.quorum.required, selfApproval: st.requested.get(H1)!.quorum.selfApproval });
        let counts = false;
        try {
          counts = approvalDecider.decide({ type: 'DecideApproval', proposalHash: H1, decision: 'approve', approver: { kind: 'user', id: viewer } }, st).length > 0;
        } catch {
          counts = false;
        }
        expect(p.mayApprove).to.equal(counts);
      }),
    );
  });
});

describe('dashboard: which live notices reload the Approvals page', () => {
  it('reloads for a partial approval (ApprovalGiven) by another approver, and for the end of a task a card shows only', async () => {
    const { changesApprovals } = await load();
    const shown = new Set(['t1']);
    expect(changesApprovals({ type: 'ApprovalGiven', taskId: 't2' }, shown)).to.equal(true);
    for (const type of ['ApprovalRequested', 'ApprovalRequirementChanged', 'ApprovalGranted', 'ApprovalRejected']) expect(changesApprovals({ type, taskId: 't2' }, shown), type).to.equal(true);
    expect(changesApprovals({ type: 'TaskCompleted', taskId: 't1' }, shown)).to.equal(true);
    expect(changesApprovals({ type: 'TaskCompleted', taskId: 't2' }, shown)).to.equal(false);
    expect(changesApprovals({ type: 'ToolCallCompleted', taskId: 't1' }, shown)).to.equal(false);
    // A transaction a shown task sent may be one a card shows, sent without a decision (the card goes).
    expect(changesApprovals({ type: 'TransactionSubmitted', taskId: 't1' }, shown)).to.equal(true);
    expect(changesApprovals({ type: 'TransactionSubmitted', taskId: 't2' }, shown)).to.equal(false);
  });
});
