import { expect } from 'chai';
import fc from 'fast-check';
import type { Actor, RecordedEvent } from '../../src/core/envelope';
import { approvalDecider, principalKey, type ApprovalCommand, type ApprovalState } from '../../src/domain/task/approval.decider';
import { approvalRequirementChange, countedApprovers, type HeldProposal } from '../../src/domain/task/approval-requirement';
import { applyTaskEvent, emptyTaskView, heldProposal } from '../../src/agent/runtime/task-view';
import type { Decider, EventDraft } from '../../src/domain/decider';

const H = `0x${'1'.repeat(64)}`;
const ALICE: Actor = { kind: 'user', id: 'alice' };
const BOB: Actor = { kind: 'user', id: 'bob' };
const CAROL: Actor = { kind: 'user', id: 'carol' };
const RUNTIME: Actor = { kind: 'agent', id: 'worker' };
const principals: Actor[] = [ALICE, BOB, CAROL, { kind: 'agent', id: 'bob' }, { kind: 'user', id: 'dave' }];

const actor = fc.integer({ min: 0, max: principals.length - 1 }).map((i) => principals[i]);
const heldArb: fc.Arbitrary<HeldProposal> = fc.record({
  quorum: fc.record({ required: fc.integer({ min: 1, max: 4 }), selfApproval: fc.boolean() }),
  approvers: fc.array(actor, { maxLength: 5 }),
  decided: fc.constantFrom(undefined, 'approve' as const, 'reject' as const),
});
const nowArb = fc.record({ required: fc.integer({ min: 1, max: 4 }), selfApproval: fc.boolean(), requestedBy: actor });

describe('approval requirement of a waiting proposal under a changed policy (approvalRequirementChange)', () => {
  it('raised 1 → 2 on a proposal one approval released: reopened, that approval stands', () => {
    expect(approvalRequirementChange({ quorum: { required: 1, selfApproval: true }, approvers: [BOB], decided: 'approve' }, { required: 2, selfApproval: true, requestedBy: ALICE })).to.deep.equal({
      approvals: { required: 2, selfApproval: true, requestedBy: ALICE },
      previous: { required: 1, selfApproval: true },
      approvers: [BOB],
      reopened: true,
    });
  });

  it('lowered 3 → 2 with two approvals: recorded, not released by itself (no reopening, no release)', () => {
    expect(approvalRequirementChange({ quorum: { required: 3, selfApproval: true }, approvers: [BOB, CAROL] }, { required: 2, selfApproval: true, requestedBy: ALICE })).to.deep.include({ approvers: [BOB, CAROL], reopened: false });
    // Released under 3 already: it stands under 2, nothing to record.
    expect(approvalRequirementChange({ quorum: { required: 3, selfApproval: true }, approvers: [BOB, CAROL, ALICE], decided: 'approve' }, { required: 2, selfApproval: true, requestedBy: ALICE })).to.equal(undefined);
  });

  it('counts a principal once, and the submitter only with selfApproval', () => {
    expect(countedApprovers([BOB, { kind: 'agent', id: 'bob' }, ALICE], { selfApproval: false, requestedBy: { kind: 'agent', id: 'alice' } })).to.deep.equal([BOB]);
    expect(countedApprovers([BOB, ALICE], { selfApproval: true, requestedBy: ALICE })).to.deep.equal([BOB, ALICE]);
  });

  it('what it records, and when (property)', () => {
    fc.assert(
      fc.property(heldArb, nowArb, (held, now) => {
        const change = approvalRequirementChange(held, now);
        const counted = countedApprovers(held.approvers, now);
        const same = held.quorum.required === now.required && held.quorum.selfApproval === now.selfApproval;
        if (!change) {
          // Nothing to record: rejected, released by enough for `now`, or waiting under `now` already.
          if (held.decided === 'approve') expect(counted.length).to.be.at.least(now.required);
          if (held.decided === undefined) expect(same).to.equal(true);
          return;
        }
        expect(held.decided).to.not.equal('reject');
        expect(change.approvals).to.deep.equal(now);
        expect(change.previous).to.deep.equal(held.quorum);
        expect(change.reopened).to.equal(held.decided === 'approve');
        const keys = change.approvers.map(principalKey);
        expect(new Set(keys).size, 'each principal once').to.equal(keys.length);
        for (const k of keys) expect(held.approvers.map(principalKey)).to.include(k);
        if (!now.selfApproval) expect(keys).to.not.include(principalKey(now.requestedBy));
        // Once recorded, it is waiting under `now`: nothing more to record until something else changes.
        expect(approvalRequirementChange({ quorum: change.approvals, approvers: change.approvers }, now)).to.equal(undefined);
      }),
      { numRuns: 500 },
    );
  });
});

/** The API's decider as a process from before ApprovalRequirementChanged runs it: the event is unknown to it, and ignored. */
const oldApi: Decider<ApprovalState, ApprovalCommand, EventDraft> = {
  ...approvalDecider,
  evolve: (s, e) => (e.type === 'ApprovalRequirementChanged' ? s : approvalDecider.evolve(s, e)),
};

/** An approval or rejection through the API (maybe an old one); the runtime stopped; the runtime started under a policy asking `required`/`selfApproval`. */
type Op = { kind: 'approve' | 'reject'; who: number; oldApi: boolean } | { kind: 'stop' } | { kind: 'start'; required: number; selfApproval: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('approve' as const), who: fc.integer({ min: 0, max: principals.length - 1 }), oldApi: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reject' as const), who: fc.integer({ min: 0, max: principals.length - 1 }), oldApi: fc.boolean() }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'stop' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('start' as const), required: fc.integer({ min: 1, max: 4 }), selfApproval: fc.boolean() }) },
);

/**
 * The API (approvalDecider over the task stream) and the runtime (its TaskView, and
 * approvalRequirementChange under the policy it was started with), run together over random
 * approvals, rejections, stops and starts under another `approvals`/`selfApproval`. While it
 * runs, the runtime looks after every op, as its wait loop does: it records a change, or acts on
 * a release ("sent"). While it is stopped, approvals are decided on what the log holds.
 */
function simulate(q0: { required: number; selfApproval: boolean }, submitter: Actor, ops: Op[], withOldApi: boolean) {
  const events: RecordedEvent[] = [];
  const push = (type: string, data: Record<string, unknown>, by: Actor) =>
    events.push({ id: String(events.length), type, version: 1, stream: 'task-1', revision: events.length, position: events.length, occurredAt: '2026-12-06T00:00:00.000Z', tenant: 't', actor: by, data, hash: '0x' } as RecordedEvent);
  push('TaskSubmitted', { instruction: 'x' }, submitter);
  push('TaskStarted', {}, RUNTIME);
  push('ApprovalRequested', { stepId: 's', proposalHash: H, proposalJson: '{}', rule: 'r', approvals: { ...q0, requestedBy: submitter } }, RUNTIME);
  let q = q0;
  let up = true;
  const accepted: Actor[] = [];
  const trace: { op: Op; up: boolean; sent: boolean; decidedBefore?: string; countedBefore: string[]; refused?: string }[] = [];
  const view = () => events.reduce(applyTaskEvent, emptyTaskView('1'));
  for (const op of ops) {
    const decidedBefore = heldProposal(view(), H)!.decided;
    const countedBefore = countedApprovers(heldProposal(view(), H)!.approvers, { ...q, requestedBy: submitter }).map(principalKey);
    let refused: string | undefined;
    if (op.kind === 'stop') up = false;
    else if (op.kind === 'start') {
      up = true;
      q = { required: op.required, selfApproval: op.selfApproval };
    } else {
      const who = principals[op.who];
      const decider = withOldApi && op.oldApi ? oldApi : approvalDecider;
      try {
        const state = events.reduce((st, e) => decider.evolve(st, { type: e.type, data: e.data as Record<string, unknown> }), decider.initialState());
        for (const d of decider.decide({ type: 'DecideApproval', proposalHash: H, decision: op.kind, approver: who }, state)) push(d.type, d.data, who);
        if (op.kind === 'approve') accepted.push(who);
      } catch (err) {
        refused = (err as { code: string }).code;
      }
    }
    let sent = false;
    const held = heldProposal(view(), H)!;
    if (up) {
      // The runtime's look (chain-steps' wait loop).
      const change = approvalRequirementChange(held, { ...q, requestedBy: submitter });
      if (change) push('ApprovalRequirementChanged', { stepId: 's', proposalHash: H, ...change, rule: 'r', policy: 't/*' }, RUNTIME);
      sent = !change && held.decided === 'approve';
    }
    trace.push({ op, up, sent, decidedBefore, countedBefore, ...(refused ? { refused } : {}) });
    if (sent || held.decided === 'reject') break;
  }
  return { events, trace, q, accepted };
}

describe('approvals and policy changes together: the API decider and the runtime (property)', () => {
  const run = (withOldApi: boolean) =>
    fc.property(fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.integer({ min: 0, max: principals.length - 1 }), fc.array(opArb, { maxLength: 16 }), (required, selfApproval, s, ops) => {
      const submitter = principals[s];
      const { events, trace, q, accepted } = simulate({ required, selfApproval }, submitter, ops, withOldApi);
      const last = trace[trace.length - 1];
      if (!last?.sent) return;
      // Sent: never after a rejection, and only with as many distinct approvers as the policy in
      // force asks, the submitter counted only if it allows.
      expect(events.some((e) => e.type === 'ApprovalRejected')).to.equal(false);
      const eligible = countedApprovers(accepted, { ...q, requestedBy: submitter });
      expect(eligible.length, JSON.stringify(trace)).to.be.at.least(q.required);
      // A start under another policy releases nothing by itself: only a release some approver gave before it.
      if (last.op.kind === 'start') expect(last.decidedBefore).to.equal('approve');
    });

  it('never sent with fewer approvers than the policy in force asks; a start under another policy releases nothing by itself', () => {
    fc.assert(run(false), { numRuns: 1000 });
  });

  it('the same with api processes from before the change (they ignore ApprovalRequirementChanged): the runtime still holds it', () => {
    fc.assert(run(true), { numRuns: 1000 });
  });

  it('the approval that makes the count the policy asks now is the one that sends it (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.boolean(), fc.integer({ min: 0, max: principals.length - 1 }), fc.array(opArb, { maxLength: 16 }), (required, selfApproval, s, ops) => {
        const submitter = principals[s];
        const { trace } = simulate({ required, selfApproval }, submitter, ops, false);
        let q = { required, selfApproval };
        for (const t of trace) {
          if (t.op.kind === 'start') q = { required: t.op.required, selfApproval: t.op.selfApproval };
          // Decided while no runtime ran: on what the log held then (the runtime checks it when it starts).
          if (t.op.kind !== 'approve' || t.refused || !t.up) continue;
          const who = principals[t.op.who];
          const eligible = q.selfApproval || principalKey(who) !== principalKey(submitter);
          // Already counted (a repeat) or a new one: either way, with it the count reaches what is asked now.
          const count = new Set([...t.countedBefore, principalKey(who)]).size;
          if (eligible && count >= q.required) expect(t.sent, JSON.stringify(trace)).to.equal(true);
          if (!eligible) expect(t.sent).to.equal(false);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('examples: raised after a release by one while stopped (reopened; that approver counts once), raised while waiting, lowered with the count met (a repeat releases)', () => {
    const raised = simulate({ required: 1, selfApproval: true }, ALICE, [
      { kind: 'stop' },
      { kind: 'approve', who: 1, oldApi: false },
      { kind: 'start', required: 2, selfApproval: true },
      { kind: 'approve', who: 1, oldApi: false },
      { kind: 'approve', who: 2, oldApi: false },
    ], false);
    expect(raised.trace.map((t) => t.sent)).to.deep.equal([false, false, false, false, true]);
    expect(raised.events.filter((e) => e.type === 'ApprovalRequirementChanged').map((e) => e.data)).to.deep.equal([
      { stepId: 's', proposalHash: H, approvals: { required: 2, selfApproval: true, requestedBy: ALICE }, previous: { required: 1, selfApproval: true }, approvers: [BOB], reopened: true, rule: 'r', policy: 't/*' },
    ]);
    const down = simulate({ required: 1, selfApproval: true }, ALICE, [
      { kind: 'start', required: 2, selfApproval: true },
      { kind: 'approve', who: 1, oldApi: false },
      { kind: 'approve', who: 1, oldApi: false },
      { kind: 'approve', who: 2, oldApi: false },
    ], false);
    expect(down.trace.map((t) => t.sent)).to.deep.equal([false, false, false, true]);
    expect(down.events.filter((e) => e.type === 'ApprovalGiven').map((e) => (e.data as { given: number }).given)).to.deep.equal([1, 2]);
    const lowered = simulate({ required: 3, selfApproval: true }, ALICE, [
      { kind: 'approve', who: 1, oldApi: false },
      { kind: 'approve', who: 2, oldApi: false },
      { kind: 'start', required: 2, selfApproval: true },
      { kind: 'approve', who: 2, oldApi: false },
    ], false);
    expect(lowered.trace.map((t) => t.sent)).to.deep.equal([false, false, false, true]);
  });
});
