import { expect } from 'chai';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import { fixedClock } from '../../src/core/clock';
import { InvalidTransitionError, NotFoundError, ValidationError, WrongExpectedRevisionError } from '../../src/core/errors';
import { handleCommand } from '../../src/domain/handle-command';
import { taskDecider, taskStream, type TaskCommand, type TaskState } from '../../src/domain/task/task.decider';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';

const commands: TaskCommand[] = [
  { type: 'SubmitTask', steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] },
  { type: 'StartTask' },
  { type: 'CompleteTask', output: { text: 'hi' } },
  { type: 'FailTask', error: { code: 'X', message: 'boom' } },
  { type: 'CancelTask', reason: 'no longer needed' },
];

function run(cmds: TaskCommand[]): { state: TaskState; rejected: number } {
  let state = taskDecider.initialState();
  let rejected = 0;
  for (const c of cmds) {
    try {
      for (const e of taskDecider.decide(c, state)) state = taskDecider.evolve(state, e);
    } catch (err) {
      expect(err).to.be.instanceOf(InvalidTransitionError);
      rejected++;
    }
  }
  return { state, rejected };
}

describe('task decider', () => {
  it('runs the happy path submit → start → complete', () => {
    expect(run([commands[0], commands[1], commands[2]]).state.status).to.equal('completed');
  });

  it('rejects invalid transitions with a typed error naming state and command', () => {
    const err = (() => {
      try {
        taskDecider.decide({ type: 'CompleteTask' }, { status: 'submitted', stepCount: 0 });
      } catch (e) {
        return e as InvalidTransitionError;
      }
    })();
    expect(err).to.be.instanceOf(InvalidTransitionError);
    expect(err!.message).to.equal('task in state submitted cannot CompleteTask');
    expect(err!.status).to.equal(409);
  });

  it('never leaves a terminal state, whatever commands follow (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...commands), { maxLength: 12 }), (cmds) => {
        const { state } = run(cmds);
        const after = run([...cmds, ...commands]).state;
        if (['completed', 'failed', 'cancelled'].includes(state.status)) expect(after.status).to.equal(state.status);
      }),
    );
  });

  it('cancel is idempotent: a cancel of a cancelled task emits nothing; of a completed or failed one is refused (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...commands), { maxLength: 12 }), fc.integer({ min: 1, max: 4 }), (cmds, n) => {
        const { state, rejected } = run(cmds);
        const cancels = Array.from({ length: n }, () => commands[4]);
        const after = run([...cmds, ...cancels]);
        const emitted = (() => {
          try {
            return taskDecider.decide(commands[4], after.state);
          } catch (err) {
            return err as InvalidTransitionError;
          }
        })();
        if (state.status === 'submitted' || state.status === 'running' || state.status === 'cancelled') {
          expect(after.state.status).to.equal('cancelled');
          expect(after.rejected - rejected).to.equal(0);
          expect(emitted).to.deep.equal([]);
        } else {
          expect(after.state.status).to.equal(state.status);
          expect(after.rejected - rejected).to.equal(n);
          expect(emitted).to.be.instanceOf(InvalidTransitionError);
        }
      }),
    );
  });

  it('accepts exactly one SubmitTask per task (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), (n) => {
        const { rejected } = run(Array.from({ length: n }, () => commands[0]));
        expect(rejected).to.equal(n - 1);
      }),
    );
  });
});

describe('handleCommand', () => {
  const dir = mkdtempSync(join(tmpdir(), 'omc-hc-'));
  let store: SqlEventStore;
  const meta = { tenant: 'acme', actor: { kind: 'user' as const, id: 'alice' }, correlationId: 'req-1' };
  const deps = () => ({ store, catalog, clock: fixedClock('2026-11-22T10:00:00.000Z') });

  before(async () => {
    store = await openSqlEventStore(`sqlite:${join(dir, 'hc.db')}`);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('appends validated, hashed events with the metadata of the command', async () => {
    const stream = taskStream('t1');
    const r = await handleCommand(deps(), { decider: taskDecider, stream, command: { type: 'SubmitTask', instruction: 'hello' }, metadata: meta });
    expect(r.state.status).to.equal('submitted');
    const [e] = await store.readStream(stream);
    expect(e).to.include({ type: 'TaskSubmitted', tenant: 'acme', correlationId: 'req-1', occurredAt: '2026-11-22T10:00:00.000Z', version: 1 });
    expect(e.data).to.deep.equal({ instruction: 'hello' });
  });

  it('rejects data its event schema refuses, naming the field, and appends nothing', async () => {
    const stream = taskStream('t-bad');
    const err = await handleCommand(deps(), { decider: taskDecider, stream, command: { type: 'SubmitTask' }, metadata: meta }).catch((e) => e);
    expect(err).to.be.instanceOf(ValidationError);
    expect(err.message).to.match(/data\.instruction/);
    expect(await store.readStream(stream)).to.deep.equal([]);
  });

  it('hides another tenant’s stream as not found', async () => {
    const stream = taskStream('t2');
    await handleCommand(deps(), { decider: taskDecider, stream, command: { type: 'SubmitTask', instruction: 'x' }, metadata: meta });
    const err = await handleCommand(deps(), {
      decider: taskDecider,
      stream,
      command: { type: 'CancelTask' },
      metadata: { ...meta, tenant: 'other' },
    }).catch((e) => e);
    expect(err).to.be.instanceOf(NotFoundError);
    expect(await store.readStream(stream)).to.have.length(1);
  });

  it('retries a concurrency conflict by deciding again on fresh state', async () => {
    const stream = taskStream('t3');
    await handleCommand(deps(), { decider: taskDecider, stream, command: { type: 'SubmitTask', instruction: 'x' }, metadata: meta });
    let conflicts = 0;
    const flaky: EventStore = Object.create(store);
    flaky.append = async (s, events, opts) => {
      if (conflicts++ === 0) throw new WrongExpectedRevisionError(s, String(opts?.expectedRevision), '9');
      return store.append(s, events, opts);
    };
    const r = await handleCommand({ ...deps(), store: flaky }, { decider: taskDecider, stream, command: { type: 'StartTask' }, metadata: meta });
    expect(conflicts).to.equal(2);
    expect(r.state.status).to.equal('running');
  });

  it('lets only one of two concurrent commands win when they conflict in the domain', async () => {
    const stream = taskStream('t4');
    await handleCommand(deps(), { decider: taskDecider, stream, command: { type: 'SubmitTask', instruction: 'x' }, metadata: meta });
    const results = await Promise.allSettled([
      handleCommand(deps(), { decider: taskDecider, stream, command: { type: 'StartTask', worker: 'a' }, metadata: meta }),
      handleCommand(deps(), { decider: taskDecider, stream, command: { type: 'StartTask', worker: 'b' }, metadata: meta }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).to.be.instanceOf(InvalidTransitionError);
    expect((await store.readStream(stream)).map((e) => e.type)).to.deep.equal(['TaskSubmitted', 'TaskStarted']);
  });

  it('two concurrent cancels: one TaskCancelled, and the other is a no-op that sees the task cancelled', async () => {
    const stream = taskStream('t5');
    await handleCommand(deps(), { decider: taskDecider, stream, command: { type: 'SubmitTask', instruction: 'x' }, metadata: meta });
    const results = await Promise.all([
      handleCommand(deps(), { decider: taskDecider, stream, command: { type: 'CancelTask', reason: 'a' }, metadata: meta }),
      handleCommand(deps(), { decider: taskDecider, stream, command: { type: 'CancelTask', reason: 'b' }, metadata: meta }),
    ]);
    expect(results.map((r) => r.state.status)).to.deep.equal(['cancelled', 'cancelled']);
    expect(results.map((r) => r.events.length).sort()).to.deep.equal([0, 1]);
    expect((await store.readStream(stream)).map((e) => e.type)).to.deep.equal(['TaskSubmitted', 'TaskCancelled']);
  });
});
