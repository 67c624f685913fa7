import { expect } from 'chai';
import { newId } from '../../src/core/ids';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { type TestDb, openProjectedReadModels, type ProjectedReadModels } from '../projections/support';
import { recordCall } from '../support/tool-call-events';

const actor = { kind: 'user' as const, id: 'u' };
const denial = (stepId: string, tool: string) => ({
  stepId, subject: 'tool', tool, decision: 'deny', rule: 'tools.deny', reason: `tool ${tool} matches deny pattern ${tool}`, policy: 'acme/*',
});
const denied = (tool: string) => ({ code: 'POLICY_DENIED', message: `policy rule tools.deny: tool ${tool} matches deny pattern ${tool}` });

/**
 * A step the policy denies is never started (no TaskStepStarted): its only events are
 * PolicyEvaluated and TaskStepFailed. `GET /v1/tasks/:id` must still show it failed, with the
 * decision's reason, not `pending` in a failed task (nor leave it out).
 */
describe('task view: steps that ended without their own end event (SQLite read models)', () => {
  let db: TestDb;
  let rm: SqlReadModels;
  let record: ProjectedReadModels['record'];
  beforeEach(async () => ({ db, rm, record } = await openProjectedReadModels('sqlite')));
  afterEach(() => db.close());

  it('an explicit step denied shows failed with POLICY_DENIED and the rule, the steps after it pending', async () => {
    const id = newId();
    await record(`task-${id}`, [
      { type: 'TaskSubmitted', actor, data: { steps: [{ tool: 'examples__now', arguments: {} }, { tool: 'examples__echo', arguments: { text: 'hi' } }] } },
      { type: 'TaskStarted', data: { worker: 'w' } },
      { type: 'PolicyEvaluated', data: denial('step-0', 'examples__now') },
      { type: 'TaskStepFailed', data: { stepId: 'step-0', error: denied('examples__now') } },
      { type: 'TaskFailed', data: { error: { code: 'POLICY_DENIED', message: `step 0 (examples__now): ${denied('examples__now').message}` } } },
    ]);
    const view = (await rm.getTask('acme', id))!;
    expect(view.status).to.equal('failed');
    expect(view.steps.map((s) => [s.index, s.tool, s.status])).to.deep.equal([[0, 'examples__now', 'failed'], [1, 'examples__echo', 'pending']]);
    expect(view.steps[0].error).to.deep.equal(denied('examples__now'));
    expect(view.steps[0].arguments).to.deep.equal({});
  });

  it('a tool call the model asked for and the policy denied is listed last, failed, naming the tool', async () => {
    const id = newId();
    await record(`task-${id}`, [
      { type: 'TaskSubmitted', actor, data: { instruction: 'echo, then tell the time' } },
      { type: 'TaskStarted', data: { worker: 'w' } },
      { type: 'PolicyEvaluated', data: { ...denial('turn-0-call_a', 'examples__echo'), decision: 'allow', rule: 'tools.allow', reason: 'tool examples__echo is allowed' } },
      { type: 'TaskStepStarted', data: { stepId: 'turn-0-call_a', index: 0, tool: 'examples__echo', argumentsHash: `0x${'1'.repeat(64)}`, argumentsJson: '{"text":"hi"}', source: 'llm', idempotent: true } },
      { type: 'TaskStepCompleted', data: { stepId: 'turn-0-call_a', resultHash: `0x${'2'.repeat(64)}`, resultJson: '{"content":[]}', isError: false } },
      { type: 'PolicyEvaluated', data: denial('turn-1-call_b', 'examples__now') },
      { type: 'TaskStepFailed', data: { stepId: 'turn-1-call_b', error: denied('examples__now') } },
      { type: 'TaskFailed', data: { error: denied('examples__now') } },
    ]);
    const view = (await rm.getTask('acme', id))!;
    expect(view.steps.map((s) => [s.index, s.tool, s.status])).to.deep.equal([[0, 'examples__echo', 'completed'], [1, 'examples__now', 'failed']]);
    expect(view.steps[1].error).to.deep.equal(denied('examples__now'));
  });

  it('an explicit step refused before it started (CHAIN_NOT_CONFIGURED) shows failed with its error', async () => {
    const id = newId();
    const error = { code: 'CHAIN_NOT_CONFIGURED', message: 'chain__read_contract is the runtime\'s own chain tool and no chains are configured (CHAINS_FILE)' };
    await record(`task-${id}`, [
      { type: 'TaskSubmitted', actor, data: { steps: [{ tool: 'chain__read_contract', arguments: { chainId: 1 } }] } },
      { type: 'TaskStarted', data: { worker: 'w' } },
      { type: 'PolicyEvaluated', data: { ...denial('step-0', 'chain__read_contract'), decision: 'allow', rule: 'tools.allow', reason: 'allowed' } },
      { type: 'TaskStepFailed', data: { stepId: 'step-0', error } },
      { type: 'TaskFailed', data: { error } },
    ]);
    const view = (await rm.getTask('acme', id))!;
    expect(view.steps.map((s) => [s.index, s.tool, s.status])).to.deep.equal([[0, 'chain__read_contract', 'failed']]);
    expect(view.steps[0].error).to.deep.equal(error);
    expect(view.steps[0].arguments).to.deep.equal({ chainId: 1 });
  });

  it('a step whose task ended mid-call (cancelled) shows how the gateway recorded the call ending, not running', async () => {
    const id = newId();
    await record(`task-${id}`, [
      { type: 'TaskSubmitted', actor, data: { instruction: 'sleep' } },
      { type: 'TaskStarted', data: { worker: 'w' } },
      { type: 'TaskStepStarted', data: { stepId: 'turn-0-call_a', index: 0, tool: 'examples__echo', argumentsHash: `0x${'1'.repeat(64)}`, argumentsJson: '{"text":"hi"}', source: 'llm', idempotent: true } },
      { type: 'TaskCancelled', actor, data: { reason: 'too slow' } },
    ]);
    // After TaskCancelled the run writes nothing more; the gateway records the call cancelled upstream.
    const call = await recordCall(db.store, { tenant: 'acme', taskId: id, outcome: 'failed' });
    expect(await rm.waitForPosition(call.position, 5000)).to.equal(true);
    const view = (await rm.getTask('acme', id))!;
    expect(view.status).to.equal('cancelled');
    expect(view.steps.map((s) => [s.index, s.tool, s.status])).to.deep.equal([[0, 'examples__echo', 'failed']]);
    expect(view.steps[0]).to.deep.include({ toolCallId: call.id, error: { code: 'MCP_UPSTREAM_TIMEOUT', message: 'no answer in 30000 ms' } });
    expect(view.steps[0].completedAt).to.be.a('string');
  });

  it('a step cut short by a cancel after a chain step (which makes no gateway call) still shows its call ending', async () => {
    // The i-th call is not the i-th step's here: the step cut short is the last started, its call the task's last.
    const id = newId();
    const started = (stepId: string, index: number, tool: string) => ({ type: 'TaskStepStarted', data: { stepId, index, tool, argumentsHash: `0x${'1'.repeat(64)}`, argumentsJson: '{}', source: 'llm', idempotent: true } });
    await record(`task-${id}`, [
      { type: 'TaskSubmitted', actor, data: { instruction: 'read, then sleep' } },
      { type: 'TaskStarted', data: { worker: 'w' } },
      started('turn-0-call_a', 0, 'chain__read_contract'),
      { type: 'TaskStepCompleted', data: { stepId: 'turn-0-call_a', resultHash: `0x${'2'.repeat(64)}`, resultJson: '{"result":[]}', isError: false } },
      started('turn-1-call_b', 1, 'examples__echo'),
      { type: 'TaskCancelled', actor, data: { reason: 'too slow' } },
    ]);
    const call = await recordCall(db.store, { tenant: 'acme', taskId: id, outcome: 'failed' });
    expect(await rm.waitForPosition(call.position, 5000)).to.equal(true);
    const view = (await rm.getTask('acme', id))!;
    expect(view.steps.map((s) => [s.index, s.tool, s.status])).to.deep.equal([[0, 'chain__read_contract', 'completed'], [1, 'examples__echo', 'failed']]);
    expect(view.steps[1]).to.deep.include({ toolCallId: call.id, error: { code: 'MCP_UPSTREAM_TIMEOUT', message: 'no answer in 30000 ms' } });
  });

  it('a step of a task still running whose call ended (the worker stopped mid-call, the step to be resumed) stays running', async () => {
    // A drained worker's call ends DEPENDENCY_UNAVAILABLE and its run records nothing: the task is
    // resumed (the step run again, or STEP_OUTCOME_UNKNOWN), so the call's end is not the step's.
    const id = newId();
    await record(`task-${id}`, [
      { type: 'TaskSubmitted', actor, data: { instruction: 'sleep' } },
      { type: 'TaskStarted', data: { worker: 'w' } },
      { type: 'TaskStepStarted', data: { stepId: 'turn-0-call_a', index: 0, tool: 'examples__echo', argumentsHash: `0x${'1'.repeat(64)}`, argumentsJson: '{"text":"hi"}', source: 'llm', idempotent: true } },
    ]);
    const call = await recordCall(db.store, { tenant: 'acme', taskId: id, outcome: 'failed' });
    expect(await rm.waitForPosition(call.position, 5000)).to.equal(true);
    const view = (await rm.getTask('acme', id))!;
    expect(view.status).to.equal('running');
    expect(view.steps.map((s) => [s.index, s.tool, s.status])).to.deep.equal([[0, 'examples__echo', 'running']]);
    expect(view.steps[0].error).to.equal(undefined);
    expect(view.steps[0].completedAt).to.equal(undefined);
  });

  it('an allowed decision alone adds no step (the step appears when it starts)', async () => {
    const id = newId();
    await record(`task-${id}`, [
      { type: 'TaskSubmitted', actor, data: { instruction: 'echo' } },
      { type: 'TaskStarted', data: { worker: 'w' } },
      { type: 'PolicyEvaluated', data: { ...denial('turn-0-call_a', 'examples__echo'), decision: 'allow', rule: 'tools.allow', reason: 'tool examples__echo is allowed' } },
    ]);
    expect((await rm.getTask('acme', id))!.steps).to.deep.equal([]);
  });
});
