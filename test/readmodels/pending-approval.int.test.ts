import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import type { Dialect } from '../projections/support';
import { projectedReadModels } from './support';
import { tasksProjection, type TaskDoc } from '../../projections/tasks.projection';
import { rebuildProjection } from '../../src/cli/projections';

const actor = { kind: 'user' as const, id: 'u' };
const agent = { kind: 'agent' as const, id: 'agent-1' };
const HASH = `0x${'ab'.repeat(32)}`;
const OTHER = `0x${'cd'.repeat(32)}`;
const REASON = 'transfer amount 150 > approvalAbove 100: a human must approve';

type Draft = { type: string; version?: number; data: Record<string, unknown>; actor?: typeof actor | typeof agent };

const submitted: Draft = { type: 'TaskSubmitted', actor, data: { steps: [{ tool: 'chain__send_transaction', arguments: { method: 'transfer' } }] } };
const started: Draft = { type: 'TaskStarted', data: { worker: 'w' } };
const stepStarted: Draft = {
  type: 'TaskStepStarted',
  data: { stepId: 'step-0', index: 0, tool: 'chain__send_transaction', argumentsHash: `0x${'11'.repeat(32)}`, source: 'steps', idempotent: false },
};
const held = (hash = HASH): Draft => ({
  type: 'PolicyEvaluated',
  data: { stepId: 'step-0', subject: 'transaction', tool: 'chain__send_transaction', decision: 'require_approval', rule: 'method.approvalAbove', reason: REASON, proposalHash: hash, policy: 'acme/*' },
});
const requested = (hash = HASH): Draft => ({ type: 'ApprovalRequested', data: { stepId: 'step-0', proposalHash: hash, proposalJson: '{"method":"transfer"}', rule: 'method.approvalAbove' } });
const waiting = [submitted, started, stepStarted, held(), requested()];

function suite(dialect: Dialect) {
  describe(`task view: a transaction waiting for approval (${dialect} read models)`, () => {
    const t = projectedReadModels(dialect);

    async function record(stream: string, events: Draft[]): Promise<string[]> {
      const drafts = events.map((e) => createEvent({ type: e.type, version: e.version, stream, tenant: 'acme', actor: e.actor ?? (e.type.startsWith('Approval') && e.type !== 'ApprovalRequested' ? actor : agent), data: e.data }));
      const r = await t.db.store.append(stream, drafts);
      expect(await t.rm.waitForPosition(r.position, 5000)).to.equal(true);
      return drafts.map((d) => d.occurredAt);
    }

    it('shows the hash to approve, the rule, the reason and when it was asked, on the task and its step', async () => {
      const id = newId();
      const times = await record(`task-${id}`, waiting);
      const view = (await t.rm.getTask('acme', id))!;
      const expected = { proposalHash: HASH, stepId: 'step-0', stepIndex: 0, tool: 'chain__send_transaction', rule: 'method.approvalAbove', reason: REASON, requestedAt: times[4] };
      expect(view.status).to.equal('running');
      expect(view.awaitingApproval).to.deep.equal([expected]);
      expect(view.steps[0].awaitingApproval).to.deep.equal({ proposalHash: HASH, rule: 'method.approvalAbove', reason: REASON, requestedAt: times[4] });
    });

    it('the same, with the events one by one (each its own batch)', async () => {
      const id = newId();
      for (const e of waiting) await record(`task-${id}`, [e]);
      expect((await t.rm.getTask('acme', id))!.awaitingApproval?.map((a) => [a.proposalHash, a.reason])).to.deep.equal([[HASH, REASON]]);
    });

    it('a four-eyes proposal says how many approvers it needs and how many approved', async () => {
      const id = newId();
      await record(`task-${id}`, [
        submitted, started, stepStarted, held(),
        { type: 'ApprovalRequested', version: 2, data: { ...requested().data, approvals: { required: 2, selfApproval: false, requestedBy: actor } } },
        { type: 'ApprovalGiven', data: { proposalHash: HASH, approver: { kind: 'user', id: 'approver-1' }, given: 1, required: 2 } },
      ]);
      const [a] = (await t.rm.getTask('acme', id))!.awaitingApproval!;
      expect(a.approvals).to.deep.equal({ required: 2, given: 1, selfApproval: false });
      expect((await t.rm.getTask('acme', id))!.steps[0].awaitingApproval?.approvals).to.deep.equal({ required: 2, given: 1, selfApproval: false });
    });

    for (const [name, after] of [
      ['approved', [{ type: 'ApprovalGranted', data: { proposalHash: HASH } }]],
      ['rejected', [{ type: 'ApprovalRejected', data: { proposalHash: HASH } }]],
      ['cancelled', [{ type: 'TaskCancelled', actor, data: {} }]],
      ['expired (the task timed out)', [{ type: 'TaskFailed', data: { error: { code: 'TASK_TIMEOUT', message: 'the task ran longer than 3600000 ms' } } }]],
      ['sent without it (its step ended)', [{ type: 'TaskStepFailed', data: { stepId: 'step-0', error: { code: 'CHAIN_UNAVAILABLE', message: 'x' } } }]],
    ] as [string, Draft[]][]) {
      it(`is cleared once ${name}`, async () => {
        const id = newId();
        await record(`task-${id}`, waiting);
        expect((await t.rm.getTask('acme', id))!.awaitingApproval).to.have.length(1);
        await record(`task-${id}`, after);
        const view = (await t.rm.getTask('acme', id))!;
        expect(view.awaitingApproval).to.equal(undefined);
        expect(view.steps[0].awaitingApproval).to.equal(undefined);
      });
    }

    it('a release reopened by a raised requirement waits again', async () => {
      const id = newId();
      await record(`task-${id}`, [...waiting, { type: 'ApprovalGranted', data: { proposalHash: HASH } }]);
      const times = await record(`task-${id}`, [{
        type: 'ApprovalRequirementChanged',
        data: {
          stepId: 'step-0', proposalHash: HASH, approvals: { required: 2, selfApproval: true, requestedBy: actor }, previous: { required: 1, selfApproval: true },
          approvers: [{ kind: 'user', id: 'approver-1' }], reopened: true, rule: 'method.approvalAbove', policy: 'acme/*',
        },
      }]);
      const [a] = (await t.rm.getTask('acme', id))!.awaitingApproval!;
      expect([a.proposalHash, a.approvals, a.requestedAt]).to.deep.equal([HASH, { required: 2, given: 1, selfApproval: true }, times[0]]);
    });

    it('a decision the policy made again without a request (an approved proposal re-judged) shows nothing', async () => {
      const id = newId();
      await record(`task-${id}`, [...waiting, { type: 'ApprovalGranted', data: { proposalHash: HASH } }, held(OTHER)]);
      expect((await t.rm.getTask('acme', id))!.awaitingApproval).to.equal(undefined);
    });

    it('a task that waits since before the upgrade (projected without the column) shows it after openmcp projections rebuild tasks', async () => {
      const id = newId();
      await record(`task-${id}`, waiting);
      // As the release before left it: the row without approvals_json.
      await t.db.knex('rm_tasks').where('id', id).update({ approvals_json: null });
      expect((await t.rm.getTask('acme', id))!.awaitingApproval).to.equal(undefined);
      await rebuildProjection({ knex: t.db.knex, store: t.db.store }, 'tasks');
      expect((await t.rm.getTask('acme', id))!.awaitingApproval?.map((a) => [a.proposalHash, a.stepIndex, a.reason])).to.deep.equal([[HASH, 0, REASON]]);
    });

    it('a redelivered request after its approval changes nothing (replay-safe)', async () => {
      const id = newId();
      await record(`task-${id}`, [...waiting, { type: 'ApprovalGranted', data: { proposalHash: HASH } }]);
      const events = await t.db.store.readStream(`task-${id}`);
      let doc: TaskDoc | undefined;
      for (const e of events) doc = tasksProjection.evolve(doc, e) ?? doc;
      expect(doc!.approvals?.filter((a) => a.status === 'pending') ?? []).to.deep.equal([]);
      for (const e of events.slice(3, 5)) expect(tasksProjection.evolve(doc, e)).to.equal(doc);
    });
  });
}

suite('sqlite');
suite('mysql');
