import { expect } from 'chai';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { tasksProjection, type TaskDoc } from '../../projections/tasks.projection';

const HASH = `0x${'ab'.repeat(32)}`;

/**
 * SqlReadModels' cacheShows waits, for an event the tasks projection handles, until the cached
 * task view's revision reaches the event's: every such event must advance the document's
 * revision, also one that changes nothing shown (else read-your-writes waits out its timeout).
 */
describe('tasks projection: every event it handles advances the task revision', () => {
  const stream = `task-${newId()}`;
  let revision = 0;
  const recorded = (type: string, data: Record<string, unknown>): RecordedEvent => {
    const e = createEvent({ type, stream, tenant: 'acme', actor: { kind: 'agent', id: 'a' }, data });
    const r = revision++;
    return { ...e, revision: r, position: 100 + r };
  };
  let doc: TaskDoc | undefined;
  for (const e of [recorded('TaskSubmitted', { steps: [] }), recorded('TaskStarted', { worker: 'w' })]) doc = tasksProjection.evolve(doc, e);

  const events: [string, Record<string, unknown>][] = [
    ['PolicyEvaluated', { stepId: 'step-0', subject: 'transaction', tool: 't', decision: 'allow', rule: 'r', reason: 'ok', policy: 'default' }],
    ['TaskStepCompleted', { stepId: 'step-9' }],
    ['ApprovalGranted', { proposalHash: HASH }],
    ['ApprovalRequested', { stepId: 'step-0', proposalHash: HASH, proposalJson: '{}', rule: 'r' }],
    ['TransactionSubmitted', { stepId: 'step-0', proposalHash: HASH }],
  ];
  for (const [type, data] of events) {
    it(type, () => {
      const e = recorded(type, data);
      expect(tasksProjection.canHandle(e)).to.equal(true);
      const next = tasksProjection.evolve(doc, e)!;
      expect([next.revision, next.position]).to.deep.equal([e.revision, e.position]);
      doc = next;
    });
  }
});
