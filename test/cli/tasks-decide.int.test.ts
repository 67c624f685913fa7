import { expect } from 'chai';
import { catalog } from '../../events';
import { ApprovalsService } from '../../src/agent/approvals-service';
import { createEvent } from '../../src/core/envelope';
import { handleCommand } from '../../src/domain/handle-command';
import { taskDecider } from '../../src/domain/task/task.decider';
import { runTasksShow } from '../../src/cli/tasks';
import { runTasksCancel, runTasksDecide } from '../../src/cli/tasks-decide';
import { OpenMcpClient } from '../../src/sdk/client';
import { makeHarness, type Harness } from '../api/support/harness';

const STEP = { steps: [{ tool: 'chain__send_transaction', arguments: { method: 'transfer' } }] };
const HASH = `0x${'c'.repeat(64)}`;

/**
 * `openmcp tasks show` naming the proposal a task waits on, and `tasks approve|reject|cancel`
 * deciding it through the REST routes, against a listening gateway.
 */
describe('CLI tasks approve, reject, cancel (and show of a task waiting for approval)', function () {
  this.timeout(60_000);
  let h: Harness;
  let client: OpenMcpClient;
  let lines: string[];
  const out = (l: string) => lines.push(l);

  before(async () => {
    let service: ApprovalsService | undefined;
    h = await makeHarness({ approvals: { decide: (p) => service!.decide(p) } });
    service = new ApprovalsService({ store: h.store, catalog });
    const baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
    client = new OpenMcpClient({ baseUrl, apiKey: (await h.key('operator', 'acme')).key });
  });
  beforeEach(() => (lines = []));
  after(() => h.close());

  /** A running task whose transaction waits for approval (as the agent runtime records it). */
  async function waiting(approvals?: { required: number; selfApproval: boolean }): Promise<string> {
    const { id } = await client.tasks.submit(STEP);
    const stream = `task-${id}`;
    const [submitted] = await h.store.readStream(stream);
    const worker = { tenant: 'acme', actor: { kind: 'agent' as const, id: 'worker-1' } };
    const started = await handleCommand({ store: h.store, catalog }, { decider: taskDecider, stream, command: { type: 'StartTask' }, metadata: worker });
    const data = { stepId: 'step-0', proposalHash: HASH, proposalJson: '{}', rule: 'method.approvalAbove' };
    const request = approvals
      ? createEvent({ type: 'ApprovalRequested', version: 2, stream, tenant: 'acme', actor: worker.actor, data: catalog.validate('ApprovalRequested', 2, { ...data, approvals: { ...approvals, requestedBy: submitted.actor } }) })
      : createEvent({ type: 'ApprovalRequested', stream, tenant: 'acme', actor: worker.actor, data: catalog.validate('ApprovalRequested', 1, data) });
    const { position } = await h.store.append(stream, [request], { expectedRevision: started.nextExpectedRevision });
    // The API waits for its own writes only: this one, for the projector to have it.
    expect(await h.deps.readModels.waitForPosition(position, 10_000)).to.equal(true);
    return id;
  }

  it('tasks show names the proposal waiting and the command that approves it', async () => {
    const id = await waiting({ required: 2, selfApproval: true });
    expect(await runTasksShow(client, id, {}, out)).to.equal(0);
    const text = lines.join('\n');
    expect(text).to.match(/waiting for approval since \S+: step step-0, rule method\.approvalAbove, 0 of 2 approvals/);
    expect(text).to.include(`openmcp tasks approve ${id} --hash ${HASH}`);
  });

  it('tasks approve releases it and says so; a repeat is answered the same; the other decision then exits 1 naming the code', async () => {
    const id = await waiting();
    expect(await runTasksDecide(client, id, { hash: HASH, decision: 'approve' }, out)).to.equal(0);
    expect(lines).to.deep.equal([`proposal ${HASH} approved: released, task ${id} goes on`]);
    expect((await h.store.readStream(`task-${id}`)).at(-1)!.type).to.equal('ApprovalGranted');
    expect((await client.tasks.get(id)).awaitingApproval).to.equal(undefined);
    expect(await runTasksDecide(client, id, { hash: HASH, decision: 'approve' }, out)).to.equal(0);
    expect(lines[1]).to.equal(lines[0]);
    lines = [];
    expect(await runTasksDecide(client, id, { hash: HASH, decision: 'reject' }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error APPROVAL_ALREADY_DECIDED: /);
  });

  it('tasks approve of a proposal needing two approvers says it is recorded, 1 of 2', async () => {
    const id = await waiting({ required: 2, selfApproval: true });
    expect(await runTasksDecide(client, id, { hash: HASH, decision: 'approve', comment: 'ok' }, out)).to.equal(0);
    expect(lines).to.deep.equal([`proposal ${HASH}: your approval is recorded (1 of 2 approvals); it waits for more approvers`]);
    expect((await h.store.readStream(`task-${id}`)).at(-1)!.data).to.deep.include({ proposalHash: HASH, given: 1, required: 2, comment: 'ok' });
  });

  it('tasks reject rejects it; a hash that is not waiting, or not a hash, exits 1 naming the code, nothing appended', async () => {
    const id = await waiting();
    const head = await h.store.headPosition();
    expect(await runTasksDecide(client, id, { hash: `0x${'d'.repeat(64)}`, decision: 'reject' }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error APPROVAL_PROPOSAL_MISMATCH: /);
    expect(await runTasksDecide(client, id, { hash: '0x12', decision: 'approve' }, out)).to.equal(1);
    expect(lines[1]).to.match(/^error VALIDATION_FAILED: .*proposalHash/);
    expect(await h.store.headPosition()).to.equal(head);
    lines = [];
    expect(await runTasksDecide(client, id, { hash: HASH, decision: 'reject' }, out)).to.equal(0);
    expect(lines).to.deep.equal([`proposal ${HASH} rejected: task ${id} fails with APPROVAL_REJECTED`]);
  });

  it('tasks cancel cancels with the reason kept; an unknown task exits 1 NOT_FOUND', async () => {
    const { id } = await client.tasks.submit(STEP);
    expect(await runTasksCancel(client, id, { reason: 'wrong amount' }, out)).to.equal(0);
    expect(lines).to.deep.equal([`task ${id} cancelled`]);
    expect((await h.store.readStream(`task-${id}`)).at(-1)!.data).to.deep.equal({ reason: 'wrong amount' });
    expect(await runTasksCancel(client, '01900000-0000-7000-8000-000000000000', {}, out)).to.equal(1);
    expect(lines[1]).to.match(/^error NOT_FOUND: /);
    expect(await runTasksDecide(client, '01900000-0000-7000-8000-000000000000', { hash: HASH, decision: 'approve' }, out)).to.equal(1);
    expect(lines[2]).to.match(/^error NOT_FOUND: /);
  });

  it('tasks cancel of a task that ended exits 1 naming INVALID_TRANSITION and why; the submitter approving under four-eyes exits 1 with APPROVAL_SELF_NOT_ALLOWED (403)', async () => {
    const waitingId = await waiting({ required: 1, selfApproval: false });
    expect(await runTasksDecide(client, waitingId, { hash: HASH, decision: 'approve' }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error APPROVAL_SELF_NOT_ALLOWED: .*may reject it, not approve it/);
    expect(await runTasksDecide(client, waitingId, { hash: HASH, decision: 'reject' }, out)).to.equal(0);
    const stream = `task-${waitingId}`;
    const worker = { tenant: 'acme', actor: { kind: 'agent' as const, id: 'worker-1' } };
    await handleCommand({ store: h.store, catalog }, { decider: taskDecider, stream, command: { type: 'FailTask', error: { code: 'APPROVAL_REJECTED', message: 'rejected' } }, metadata: worker });
    lines = [];
    expect(await runTasksCancel(client, waitingId, {}, out)).to.equal(1);
    expect(lines[0]).to.match(/^error INVALID_TRANSITION: the task is failed already: only a submitted or running task can be cancelled/);
  });
});
