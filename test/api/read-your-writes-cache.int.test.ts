import { expect } from 'chai';
import Redis from 'ioredis';
import { catalog } from '../../events';
import { ApprovalsService } from '../../src/agent/approvals-service';
import { createEvent } from '../../src/core/envelope';
import { handleCommand } from '../../src/domain/handle-command';
import { taskDecider } from '../../src/domain/task/task.decider';
import { RedisCache } from '../../src/cache/redis';
import type { Cache } from '../../src/cache/port';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { redisAvailable, redisTestPrefix, REDIS_TEST_URL, requireService } from '../support/services';
import { makeHarness, type Harness } from './support/harness';

/** The projector's view of Redis: while `slowMs` is set, each `set` of a task view takes that long (a slow network, a busy Redis). */
function slowTaskSets(inner: Cache) {
  const control = { slowMs: 0 };
  const cache = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop !== 'set') return Reflect.get(target, prop, receiver);
      return async (k: string, value: string, ttlMs?: number) => {
        if (control.slowMs && /:task:/.test(k)) await new Promise((r) => setTimeout(r, control.slowMs));
        return target.set(k, value, ttlMs);
      };
    },
  });
  return { cache, control };
}

/**
 * An API replica whose projector runs in another process, both on one database and one Redis
 * (REDIS_URL): its read-your-writes polls the read models. The projector rewrites a cached task
 * view only after its commit, so the audit row alone does not mean a GET sees the change: the
 * cached view did not yet.
 */
describe('read-your-writes through a shared Redis cache on an API replica without a projector', function () {
  this.timeout(20_000);
  let h: Harness;
  let redis: Redis;
  let control: { slowMs: number };
  const prefix = redisTestPrefix('omc_ryw');

  before(async function () {
    await requireService(this, 'Redis', redisAvailable);
    redis = new Redis(REDIS_TEST_URL);
    const shared = new RedisCache(redis, prefix.prefix);
    const slow = slowTaskSets(shared);
    control = slow.control;
    // The harness's projector (the "other process") writes through the slow view of Redis.
    let approvals: ApprovalsService | undefined;
    h = await makeHarness({ cache: slow.cache, approvals: { decide: (p) => approvals!.decide(p) } });
    approvals = new ApprovalsService({ store: h.store, catalog });
    // This replica has no projector: no notifications, its waits poll SQL (as src/main.ts wires it).
    h.deps.readModels = new SqlReadModels({ knex: h.knex, cache: shared, pollIntervalMs: 5 });
  });
  after(async () => {
    await h?.close();
    redis?.disconnect();
    await prefix.drop();
  });

  it('GET /v1/tasks/:id right after a cancel answered 202 shows it cancelled, not the cached view before', async () => {
    const { auth } = await h.key('operator', 'acme');
    const submitted = await h.call({ method: 'POST', url: '/v1/tasks', auth, payload: { instruction: 'wait for me' } });
    expect(submitted.statusCode).to.equal(202);
    const { id } = submitted.json();
    const before = await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth });
    expect(before.json().status).to.equal('submitted');

    control.slowMs = 300;
    const cancelled = await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth, payload: {} });
    expect(cancelled.statusCode).to.equal(202);
    const after = await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth });
    control.slowMs = 0;
    expect(after.json().status).to.equal('cancelled');
  });

  it('GET /v1/tasks/:id right after an approval answered 202 no longer shows it waiting, not the cached view before', async () => {
    const { auth } = await h.key('operator', 'acme');
    const submitted = await h.call({ method: 'POST', url: '/v1/tasks', auth, payload: { steps: [{ tool: 'chain__send_transaction', arguments: { method: 'transfer' } }] } });
    const { id } = submitted.json();
    const stream = `task-${id}`;
    const worker = { tenant: 'acme', actor: { kind: 'agent' as const, id: 'worker-1' } };
    const started = await handleCommand({ store: h.store, catalog }, { decider: taskDecider, stream, command: { type: 'StartTask' }, metadata: worker });
    const proposalHash = `0x${'c'.repeat(64)}`;
    const data = catalog.validate('ApprovalRequested', 1, { stepId: 'step-0', proposalHash, proposalJson: '{}', rule: 'method.approvalAbove' });
    const { position } = await h.store.append(stream, [createEvent({ type: 'ApprovalRequested', stream, tenant: 'acme', actor: worker.actor, data })], { expectedRevision: started.nextExpectedRevision });
    expect(await h.deps.readModels.waitForPosition(position, 10_000)).to.equal(true);
    const before = await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth });
    expect(before.json().awaitingApproval).to.have.length(1);

    control.slowMs = 300;
    const approved = await h.call({ method: 'POST', url: `/v1/tasks/${id}/approvals`, auth, payload: { proposalHash, decision: 'approve' } });
    expect(approved.statusCode).to.equal(202);
    const after = await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth });
    control.slowMs = 0;
    expect(after.json()).to.not.have.property('awaitingApproval');
  });
});
