import { expect } from 'chai';
import { catalog } from '../../events';
import { subjectOf } from '../../src/erasure/subject';
import { sealTaskInput } from '../../src/erasure/task-input';
import { submitTask as submit } from '../../src/domain/task/submit-task';
import { gatewayHarnessForFile, type GatewayHarness } from './support/gateway-harness';
import { ended, ofType, user, waitForTask } from './support/agent-fixture';

const MARKER = 'sealed-input-marker-5150';

/** The agent runtime opens a task's sealed input (TaskSubmitted v3) with the submitter's key, and fails a task whose key was erased before it ran. */
describe('MCP_PAYLOAD_POLICY=encrypted: the agent runtime runs tasks whose input is sealed', function () {
  this.timeout(60_000);
  let h: GatewayHarness;
  gatewayHarnessForFile('encrypted', (x) => (h = x));

  async function submitSealed(tag: string): Promise<string> {
    const keys = h.subjectKeys!;
    const out = await submit(
      { store: h.store, catalog },
      {
        command: { type: 'SubmitTask', instruction: `${MARKER}-${tag}: reverse it`, steps: [{ tool: 'remote__reverse', arguments: { text: `${MARKER}-${tag}-arg` } }] },
        metadata: { tenant: 'acme', actor: user, correlationId: tag },
        sealInput: (taskId, input) => sealTaskInput(keys, subjectOf('acme', user), taskId, input),
      },
    );
    return out.id;
  }

  it('runs the task with its instruction and step arguments opened; the log keeps none of them in clear (LLM_REDACTION=hash-only)', async () => {
    h.fake.setScript(() => ({ content: 'done' }));
    const id = await submitSealed('run');
    await h.worker('worker-a', { redaction: 'hash-only' }).start();
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), JSON.stringify(ofType(events, 'TaskFailed'))).to.have.length(1);
    const user = h.fake.requests.at(-1)?.messages.find((m) => m.role === 'user');
    expect(String(user?.content)).to.contain(`${MARKER}-run: reverse it`);
    expect(String(user?.content)).to.contain(`${MARKER}-run-arg`.split('').reverse().join(''));
    expect(JSON.stringify(await h.store.readAll({ limit: 10_000 }))).to.not.contain(MARKER);
  });

  it('a worker set to LLM_REDACTION=store runs a sealed task hash-only all the same: its prompts and answer stay out of the log', async () => {
    h.fake.setScript(() => ({ content: `answer ${MARKER}-store` }));
    const id = await submitSealed('store');
    await h.worker('worker-s', { redaction: 'store' }).start();
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), JSON.stringify(ofType(events, 'TaskFailed'))).to.have.length(1);
    const turn = ofType(events, 'InferenceCompleted')[0];
    expect(turn.data, 'the turn is recorded hash-only').to.not.have.property('messagesJson');
    expect(JSON.stringify(await h.store.readAll({ limit: 10_000 }))).to.not.contain(MARKER);
  });

  it('fails a task whose submitter key was erased before it ran with TASK_INPUT_ERASED, running nothing', async () => {
    const id = await submitSealed('erased');
    await h.subjectKeys!.erase(subjectOf('acme', user));
    const calls = h.fake.requests.length;
    await h.worker('worker-b', { redaction: 'hash-only' }).start();
    const events = await waitForTask(h.store, id, ended);
    const failed = ofType(events, 'TaskFailed');
    expect(failed, events.map((e) => e.type).join()).to.have.length(1);
    expect((failed[0].data as { error: { code: string; message: string } }).error.code).to.equal('TASK_INPUT_ERASED');
    expect(ofType(events, 'TaskStepStarted')).to.have.length(0);
    expect(h.fake.requests.length).to.equal(calls);
  });

  it('a task whose key is erased after it started fails TASK_INPUT_ERASED when resumed, saying so; its recorded steps stay, the model is not asked again', async () => {
    h.fake.setScript([{ hang: true }]);
    // The fake is shared by the file's tests: wait for this task's own model request, not any.
    const asked = h.fake.requests.length;
    const id = await submitSealed('midrun');
    await h.worker('worker-c', { redaction: 'hash-only' }).start();
    // Its explicit step done and the model asked (and hanging): then the worker dies.
    await waitForTask(h.store, id, (es) => ofType(es, 'TaskStepCompleted').length === 1 && h.fake.requests.length > asked);
    await h.stopWorkers();
    await h.subjectKeys!.erase(subjectOf('acme', user));
    h.fake.setScript(() => ({ content: 'done' }));
    const calls = h.fake.requests.length;
    await h.worker('worker-d', { redaction: 'hash-only' }).start();
    const events = await waitForTask(h.store, id, ended);
    const failed = ofType(events, 'TaskFailed');
    expect(failed, events.map((e) => e.type).join()).to.have.length(1);
    const error = (failed[0].data as { error: { code: string; message: string } }).error;
    expect(error.code).to.equal('TASK_INPUT_ERASED');
    expect(error.message).to.not.contain('was not run');
    expect(error.message).to.contain('after it started');
    expect(ofType(events, 'TaskStepCompleted')).to.have.length(1);
    expect(h.fake.requests.length).to.equal(calls);
  });
});
