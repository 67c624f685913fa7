import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { type TestDb, openProjectedReadModels } from '../projections/support';

const actor = { kind: 'user' as const, id: 'u' };
const agent = { kind: 'agent' as const, id: 'agent-1' };
const hex = (c: string, n = 64) => `0x${c.repeat(n)}`;
const TX = hex('a');
const STEP = 'turn-0-call_tx';
const started = (tool: string) => ({ type: 'TaskStepStarted', data: { stepId: STEP, index: 0, tool, argumentsHash: hex('1'), argumentsJson: '{}', source: 'llm', idempotent: false } });
const submitted = { type: 'TransactionSubmitted', data: { stepId: STEP, chainId: 31337, from: hex('b', 40), to: hex('c', 40), method: 'transfer(address,uint256)', proposalHash: hex('d'), nonce: 7, txHash: TX, value: '0', gasLimit: '21000', rawTransaction: '0x02f8' } };
const confirmed = (status: 'success' | 'reverted') => ({ type: 'TransactionConfirmed', data: { stepId: STEP, chainId: 31337, txHash: TX, blockNumber: 12, blockHash: hex('e'), status, gasUsed: '21000' } });
const rejected = { type: 'TransactionRejected', data: { stepId: STEP, chainId: 31337, txHash: TX, error: { code: 'TX_REJECTED', message: 'insufficient funds for gas * price + value' } } };
const cancelled = { type: 'TaskCancelled', actor, data: { reason: 'too slow' } };
const timedOut = { type: 'TaskFailed', data: { error: { code: 'TASK_TIMEOUT', message: 'the task ran longer than AGENT_TASK_TIMEOUT_MS=3600000 ms' } } };

/**
 * A chain step (contract read or transaction) makes no gateway call, so a cancel (or the task's
 * timeout) that cuts it short leaves no call end to show: its own events say how far it got.
 */
describe('task view: a chain step cut short by the end of its task (SQLite read models)', () => {
  let db: TestDb;
  let rm: SqlReadModels;
  beforeEach(async () => ({ db, rm } = await openProjectedReadModels('sqlite')));
  afterEach(() => db.close());

  let lastId = '';
  async function stepOf(events: { type: string; data: Record<string, unknown>; actor?: typeof actor }[]) {
    const id = (lastId = newId());
    const stream = `task-${id}`;
    const all = [{ type: 'TaskSubmitted', actor, data: { instruction: 'pay bob' } }, { type: 'TaskStarted', data: { worker: 'w' } }, ...events];
    const r = await db.store.append(stream, all.map((e) => createEvent({ type: e.type, stream, tenant: 'acme', actor: e.actor ?? agent, data: e.data })));
    expect(await rm.waitForPosition(r.position, 5000)).to.equal(true);
    const view = (await rm.getTask('acme', id))!;
    expect(view.steps).to.have.length(1);
    return view.steps[0];
  }

  it('a transaction never sent (cancelled before it was signed): failed STEP_CUT_SHORT, saying nothing was sent', async () => {
    const step = await stepOf([started('chain__send_transaction'), cancelled]);
    expect(step.status).to.equal('failed');
    expect(step.error?.code).to.equal('STEP_CUT_SHORT');
    expect(step.error?.message).to.equal('the task was cancelled before this step sent its transaction: nothing was sent');
    expect(step.completedAt).to.be.a('string');
  });

  it('a transaction sent and not seen mined: failed TX_PENDING, naming its hash and chain, as it may still be mined', async () => {
    const step = await stepOf([started('chain__send_transaction'), submitted, cancelled]);
    expect(step.status).to.equal('failed');
    expect(step.error).to.deep.equal({
      code: 'TX_PENDING',
      message: `the task was cancelled after this step recorded transaction ${TX} for chain 31337 as sent: it may have gone out and may still be mined; check the chain before resubmitting`,
    });
  });

  it("the same when the task's timeout cut it short", async () => {
    const step = await stepOf([started('chain__send_transaction'), submitted, timedOut]);
    expect(step.error?.code).to.equal('TX_PENDING');
    expect(step.error?.message).to.match(/^the task failed \(TASK_TIMEOUT\) after this step recorded transaction 0xa+ for chain 31337 as sent: it may have gone out and may still be mined/);
  });

  it('a transaction mined before the cancel was recorded (no step end): completed, or failed TX_REVERTED, with its receipt', async () => {
    const ok = await stepOf([started('chain__send_transaction'), submitted, confirmed('success'), cancelled]);
    expect(ok.status).to.equal('completed');
    expect(ok.result).to.deep.equal({ chainId: 31337, txHash: TX, blockNumber: 12, status: 'success' });
    const reverted = await stepOf([started('chain__send_transaction'), submitted, confirmed('reverted'), cancelled]);
    expect(reverted.status).to.equal('failed');
    expect(reverted.error?.code).to.equal('TX_REVERTED');
  });

  it('a transaction the node refused (never sent): failed with its TransactionRejected error', async () => {
    const step = await stepOf([started('chain__send_transaction'), submitted, rejected, cancelled]);
    expect(step.status).to.equal('failed');
    expect(step.error).to.deep.equal(rejected.data.error);
  });

  it('a contract read cut short: failed STEP_CUT_SHORT (a read sends nothing)', async () => {
    const step = await stepOf([started('chain__read_contract'), cancelled]);
    expect(step.error).to.deep.equal({ code: 'STEP_CUT_SHORT', message: 'the task was cancelled before this read ended: a read sends nothing' });
  });

  it('a transaction step projected before its transaction was (no record of it) stays running rather than claim nothing was sent', async () => {
    const step = await stepOf([started('chain__send_transaction'), cancelled]);
    expect(step.status).to.equal('failed');
    await db.knex('rm_task_step_runs').update({ tx_json: null });
    expect((await rm.getTask('acme', lastId))!.steps[0]).to.deep.include({ status: 'running' });
  });

  it('a transaction a projector of the release before passed over (its row says unsent, the audit log has it sent): TX_PENDING, never "nothing was sent"', async () => {
    // During a rolling upgrade or after a rollback a 2026-12-10 projector applies TransactionSubmitted
    // without writing tx_json: the row keeps the `unsent` the new projector wrote at the step's start.
    await stepOf([started('chain__send_transaction'), submitted, cancelled]);
    await db.knex('rm_task_step_runs').update({ tx_json: JSON.stringify({ outcome: 'unsent' }) });
    const step = (await rm.getTask('acme', lastId))!.steps[0];
    expect(step.error?.code).to.equal('TX_PENDING');
    expect(step.error?.message).to.contain(TX);
  });

  it('a transaction step projected before its transaction was (no tx_json): what the audit log holds of it', async () => {
    await stepOf([started('chain__send_transaction'), submitted, confirmed('success'), cancelled]);
    await db.knex('rm_task_step_runs').update({ tx_json: null });
    expect((await rm.getTask('acme', lastId))!.steps[0]).to.deep.include({ status: 'completed' });
  });

  it('in a task still running the step stays running (its worker may resume it)', async () => {
    const step = await stepOf([started('chain__send_transaction'), submitted]);
    expect(step.status).to.equal('running');
    expect(step.error).to.equal(undefined);
  });
});
