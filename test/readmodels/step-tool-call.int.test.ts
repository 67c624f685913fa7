import { expect } from 'chai';
import { newId } from '../../src/core/ids';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { type TestDb, openProjectedReadModels, type ProjectedReadModels } from '../projections/support';
import { recordCall } from '../support/tool-call-events';

const actor = { kind: 'user' as const, id: 'u' };
const hash = (c: string) => `0x${c.repeat(64)}`;
const started = (stepId: string, index: number, tool: string) => ({ type: 'TaskStepStarted', data: { stepId, index, tool, argumentsHash: hash('1'), argumentsJson: '{}', source: 'llm', idempotent: true } });
const completed = (stepId: string) => ({ type: 'TaskStepCompleted', data: { stepId, resultHash: hash('2'), resultJson: '{"content":[]}', isError: false } });
const allowed = (stepId: string, tool: string) => ({ type: 'PolicyEvaluated', data: { stepId, subject: 'tool', tool, decision: 'allow', rule: 'tools.allow', reason: 'allowed', policy: 'acme/*' } });
const denial = (stepId: string, tool: string) => ({ type: 'PolicyEvaluated', data: { stepId, subject: 'tool', tool, decision: 'deny', rule: 'tools.deny', reason: `tool ${tool} matches deny pattern ${tool}`, policy: 'acme/*' } });
const denied = (tool: string) => ({ code: 'POLICY_DENIED', message: `policy rule tools.deny: tool ${tool} matches deny pattern ${tool}` });

/**
 * A step's `toolCallId` is the gateway call made for that step (ToolCallRequested v5 names its
 * `stepId`, for a model's call `turn-<n>-<the id the model gave>`), not the i-th call of the task:
 * a chain step makes none, a model's slip none, a step resumed after a crash two.
 */
describe('task view: a step joined to its tool call by its step id (SQLite read models)', () => {
  let db: TestDb;
  let rm: SqlReadModels;
  let record: ProjectedReadModels['record'];
  beforeEach(async () => ({ db, rm, record } = await openProjectedReadModels('sqlite')));
  afterEach(() => db.close());

  async function call(taskId: string, stepId: string | undefined, tool = 'echo') {
    const c = await recordCall(db.store, { tenant: 'acme', taskId, tool, ...(stepId ? { stepId } : {}) });
    expect(await rm.waitForPosition(c.position, 5000)).to.equal(true);
    return c.id;
  }

  it('two tool calls in one turn, one denied, after a chain step: the allowed one shows its own call, the denied one none', async () => {
    const id = newId();
    await record(`task-${id}`, [
      { type: 'TaskSubmitted', actor, data: { instruction: 'read, echo, then tell the time' } },
      { type: 'TaskStarted', data: { worker: 'w' } },
      allowed('turn-0-call_r', 'chain__read_contract'),
      started('turn-0-call_r', 0, 'chain__read_contract'),
      completed('turn-0-call_r'),
      allowed('turn-1-call_e', 'examples__echo'),
      started('turn-1-call_e', 1, 'examples__echo'),
    ]);
    const echo = await call(id, 'turn-1-call_e');
    await record(`task-${id}`, [
      completed('turn-1-call_e'),
      denial('turn-1-call_n', 'examples__now'),
      { type: 'TaskStepFailed', data: { stepId: 'turn-1-call_n', error: denied('examples__now') } },
      { type: 'TaskFailed', data: { error: denied('examples__now') } },
    ]);
    const view = (await rm.getTask('acme', id))!;
    expect(view.steps.map((s) => [s.index, s.tool, s.status, s.toolCallId])).to.deep.equal([
      [0, 'chain__read_contract', 'completed', undefined],
      [1, 'examples__echo', 'completed', echo],
      [2, 'examples__now', 'failed', undefined],
    ]);
  });

  it('a step resumed after a crash (two calls) and the step after it: each shows its own call, the resumed one its last', async () => {
    const id = newId();
    await record(`task-${id}`, [
      { type: 'TaskSubmitted', actor, data: { instruction: 'echo twice' } },
      { type: 'TaskStarted', data: { worker: 'w' } },
      started('turn-0-call_a', 0, 'examples__echo'),
    ]);
    await call(id, 'turn-0-call_a'); // the worker died before recording its end: the call is made again
    const again = await call(id, 'turn-0-call_a');
    await record(`task-${id}`, [completed('turn-0-call_a'), started('turn-1-call_b', 1, 'examples__echo')]);
    const second = await call(id, 'turn-1-call_b');
    await record(`task-${id}`, [completed('turn-1-call_b'), { type: 'TaskCompleted', data: { output: { answer: 'ok' }, outputHash: hash('3'), signature: `0x${'4'.repeat(130)}`, signer: `0x${'5'.repeat(40)}` } }]);
    const view = (await rm.getTask('acme', id))!;
    expect(view.steps.map((s) => [s.index, s.toolCallId])).to.deep.equal([[0, again], [1, second]]);
  });

  it('a model slip in a turn (no call, an index all the same) does not shift the next step onto no call', async () => {
    const id = newId();
    await record(`task-${id}`, [
      { type: 'TaskSubmitted', actor, data: { instruction: 'echo' } },
      { type: 'TaskStarted', data: { worker: 'w' } },
      { type: 'TaskStepFailed', data: { stepId: 'turn-0-call_x', error: { code: 'TOOL_ARGUMENTS_INVALID', message: 'the arguments of examples__echo are not a JSON object' } } },
      started('turn-0-call_y', 1, 'examples__echo'),
    ]);
    const echo = await call(id, 'turn-0-call_y');
    await record(`task-${id}`, [completed('turn-0-call_y')]);
    const view = (await rm.getTask('acme', id))!;
    // The slip is not a step (its TaskStepFailed is in the events), nor a made-up `unknown` one left pending.
    expect(view.steps.map((s) => [s.index, s.tool, s.status, s.toolCallId])).to.deep.equal([[1, 'examples__echo', 'completed', echo]]);
  });

  it('a task run across a rollback (a call naming its step, then one of the earlier release naming none): each step shows its own', async () => {
    const id = newId();
    await record(`task-${id}`, [{ type: 'TaskSubmitted', actor, data: { instruction: 'echo twice' } }, { type: 'TaskStarted', data: { worker: 'w' } }, started('turn-0-call_a', 0, 'examples__echo')]);
    const named = await call(id, 'turn-0-call_a');
    await record(`task-${id}`, [completed('turn-0-call_a'), started('turn-1-call_b', 1, 'examples__echo')]);
    const unnamed = await call(id, undefined); // a 2026-12-10 gateway records no step
    await record(`task-${id}`, [completed('turn-1-call_b')]);
    expect((await rm.getTask('acme', id))!.steps.map((s) => [s.index, s.toolCallId])).to.deep.equal([[0, named], [1, unnamed]]);
  });

  it('calls recorded by an earlier release (ToolCallRequested without stepId) are still joined by position', async () => {
    const id = newId();
    await record(`task-${id}`, [{ type: 'TaskSubmitted', actor, data: { instruction: 'echo' } }, { type: 'TaskStarted', data: { worker: 'w' } }, started('turn-0-call_a', 0, 'examples__echo')]);
    const old = await call(id, undefined);
    await record(`task-${id}`, [completed('turn-0-call_a')]);
    expect((await rm.getTask('acme', id))!.steps.map((s) => [s.index, s.toolCallId])).to.deep.equal([[0, old]]);
  });
});
