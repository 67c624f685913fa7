import { expect } from 'chai';
import { catalog } from '../../events';
import { createEvent } from '../../src/core/envelope';
import { ApprovalsService } from '../../src/agent/approvals-service';
import { makeHarness, type Harness } from './support/harness';

const STEP = { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] };

describe('REST commands on a stream holding an event of a newer release (a rolling upgrade)', () => {
  let h: Harness;
  let auth: string;
  let service: ApprovalsService | undefined;

  before(async () => {
    h = await makeHarness({ approvals: { decide: (p) => service!.decide(p) } });
    service = new ApprovalsService({ store: h.store, catalog });
    auth = (await h.key('operator', 'acme')).auth;
  });
  after(() => h.close());

  /** A task whose stream ends with what a worker of a later release wrote: InferenceCompleted v99, its hash valid. */
  async function taskWithNewerEvent(): Promise<{ id: string; count: number }> {
    const { id } = (await h.call({ method: 'POST', url: '/v1/tasks', auth, payload: STEP })).json();
    const stream = `task-${id}`;
    const e = createEvent({ type: 'InferenceCompleted', version: 99, stream, tenant: 'acme', actor: { kind: 'agent', id: 'agent-new-release' }, data: { turn: 0, usageUnbooked: true } });
    await h.store.append(stream, [e], { expectedRevision: 0 });
    return { id, count: 2 };
  }

  it('POST /v1/tasks/:id/cancel: 503 EVENT_FROM_NEWER_RELEASE naming the event and version, with Retry-After; nothing appended', async () => {
    const { id, count } = await taskWithNewerEvent();
    const res = await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth, payload: { reason: 'stop' } });
    expect(res.statusCode).to.equal(503);
    expect(res.headers['content-type']).to.match(/application\/problem\+json/);
    expect(res.headers['retry-after']).to.match(/^\d+$/);
    const p = res.json();
    expect(p.code).to.equal('EVENT_FROM_NEWER_RELEASE');
    expect(p.detail).to.match(/InferenceCompleted v99/).and.match(new RegExp(`v${catalog.latestVersion('InferenceCompleted')}\\b`));
    expect(await h.store.readStream(`task-${id}`)).to.have.length(count);
  });

  it('POST /v1/tasks/:id/approvals: the same refusal, nothing appended', async () => {
    const { id, count } = await taskWithNewerEvent();
    const res = await h.call({ method: 'POST', url: `/v1/tasks/${id}/approvals`, auth, payload: { proposalHash: `0x${'1'.repeat(64)}`, decision: 'approve' } });
    expect(res.statusCode).to.equal(503);
    expect(res.json().code).to.equal('EVENT_FROM_NEWER_RELEASE');
    expect(await h.store.readStream(`task-${id}`)).to.have.length(count);
  });

  it('another tenant still gets 404 (the refusal names nothing of a stream it may not see)', async () => {
    const { id } = await taskWithNewerEvent();
    const beta = (await h.key('operator', 'beta')).auth;
    const res = await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: beta, payload: {} });
    expect(res.statusCode).to.equal(404);
  });
});
