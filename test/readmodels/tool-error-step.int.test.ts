import { expect } from 'chai';
import { newId } from '../../src/core/ids';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { type TestDb, openProjectedReadModels, type ProjectedReadModels } from '../projections/support';
import { recordCall } from '../support/tool-call-events';

const actor = { kind: 'user' as const, id: 'u' };
const HASH = `0x${'2'.repeat(64)}`;
/** A tool's error text longer than the 500 characters a step's error quotes. */
const LONG = `no such customer: ${'x'.repeat(600)}`;
const errorResult = (text: string) => ({ content: [{ type: 'text', text }], isError: true });

/**
 * A step whose tool answered an error result (MCP `isError: true`): its `error` quotes the start
 * of the tool's text where the step's `result` shows it (MCP_PAYLOAD_POLICY=store), and never
 * where the payload policy kept only a hash (hash-only, encrypted): the text is not in the read model.
 */
describe('task view: a step whose tool returned an error result (SQLite read models)', () => {
  let db: TestDb;
  let rm: SqlReadModels;
  let record: ProjectedReadModels['record'];
  beforeEach(async () => ({ db, rm, record } = await openProjectedReadModels('sqlite')));
  afterEach(() => db.close());

  const stepEvents = (id: string, completed: Record<string, unknown>, version = 1) => record(`task-${id}`, [
    { type: 'TaskSubmitted', actor, data: { steps: [{ tool: 'crm__lookup', arguments: { id: 7 } }] } },
    { type: 'TaskStarted', data: { worker: 'w' } },
    { type: 'TaskStepStarted', data: { stepId: 'step-0', index: 0, tool: 'crm__lookup', argumentsHash: `0x${'1'.repeat(64)}`, argumentsJson: '{"id":7}', source: 'steps', idempotent: true } },
    { type: 'TaskStepCompleted', version, data: { stepId: 'step-0', ...completed, isError: true } },
  ]);

  it('quotes the first 500 characters of the tool\'s text when the result is kept (store), saying when it cut it', async () => {
    const id = newId();
    await stepEvents(id, { resultHash: HASH, resultJson: JSON.stringify(errorResult(LONG)) });
    const step = (await rm.getTask('acme', id))!.steps[0];
    expect(step.status).to.equal('failed');
    expect(step.error).to.deep.equal({ code: 'TOOL_ERROR', message: `the tool returned an error result: ${LONG.slice(0, 500)}… (first 500 of ${LONG.length} characters: the step's result has them all)` });
    expect(step.result).to.deep.equal(errorResult(LONG));
  });

  it('quotes a text of 500 characters or fewer whole, with no mark of a cut', async () => {
    const id = newId();
    const text = LONG.slice(0, 500);
    await stepEvents(id, { resultHash: HASH, resultJson: JSON.stringify(errorResult(text)) });
    expect((await rm.getTask('acme', id))!.steps[0].error).to.deep.equal({ code: 'TOOL_ERROR', message: `the tool returned an error result: ${text}` });
  });

  it('quotes nothing when the payload policy kept a hash only (hash-only; encrypted, whose hash is salted)', async () => {
    for (const [completed, version] of [[{ resultHash: HASH }, 1], [{ resultHash: HASH, resultHashScheme: 'hmac-sha256-salted-v1' }, 2]] as const) {
      const id = newId();
      await stepEvents(id, completed, version);
      const step = (await rm.getTask('acme', id))!.steps[0];
      expect(step.result).to.equal(undefined);
      expect(step.error).to.deep.equal({ code: 'TOOL_ERROR', message: 'the tool returned an error result (its text not kept in clear: withheld by the payload policy, or too large)' });
    }
  });

  it('a call made without step events: quotes the call\'s kept text, and nothing of a call kept as a hash only', async () => {
    for (const [policy, message] of [
      ['store', `the tool returned an error result: ${LONG.slice(0, 500)}… (first 500 of ${LONG.length} characters: the step's result has them all)`],
      ['hash-only', 'the tool returned an error result (its text not kept in clear: withheld by the payload policy, or too large)'],
    ] as const) {
      const id = newId();
      await record(`task-${id}`, [{ type: 'TaskSubmitted', actor, data: { instruction: 'look up 7' } }, { type: 'TaskStarted', data: { worker: 'w' } }]);
      const call = await recordCall(db.store, { tenant: 'acme', taskId: id, policy, isError: true, result: errorResult(LONG) });
      expect(await rm.waitForPosition(call.position, 5000)).to.equal(true);
      const step = (await rm.getTask('acme', id))!.steps[0];
      expect(step.status, policy).to.equal('failed');
      expect(step.error, policy).to.deep.equal({ code: 'TOOL_ERROR', message });
      expect(JSON.stringify(step.error).includes('no such customer'), policy).to.equal(policy === 'store');
    }
  });

  it('a structured error result without text quotes its JSON', async () => {
    const id = newId();
    await stepEvents(id, { resultHash: HASH, resultJson: JSON.stringify({ content: [], structuredContent: { reason: 'quota' }, isError: true }) });
    expect((await rm.getTask('acme', id))!.steps[0].error).to.deep.equal({ code: 'TOOL_ERROR', message: 'the tool returned an error result: {"reason":"quota"}' });
  });
});
