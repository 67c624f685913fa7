import { expect } from 'chai';
import { request as httpRequest } from 'node:http';
import { catalog } from '../../events';
import { submitTask } from '../../src/domain/task/submit-task';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { makeHarness, type Harness } from './support/harness';

const STEP = { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] };

describe('POST /v1/tasks with Idempotency-Key: a retried POST never starts a second task', () => {
  let h: Harness;
  let acme: string;
  let beta: string;

  before(async () => {
    h = await makeHarness();
    acme = (await h.key('agent', 'acme')).auth;
    beta = (await h.key('agent', 'beta')).auth;
  });
  after(() => h.close());

  const submit = (key: string | undefined, body: object = STEP, auth = acme) =>
    h.call({ method: 'POST', url: '/v1/tasks', auth, payload: body, headers: key === undefined ? {} : { 'idempotency-key': key } });

  it('a retry with the same key and body answers the same task (Idempotent-Replayed) and appends nothing', async () => {
    const first = await submit('order-42');
    expect(first.statusCode).to.equal(202);
    expect(first.headers['idempotent-replayed']).to.equal(undefined);
    const { id } = first.json();
    const head = await h.store.headPosition();
    const again = await submit('order-42');
    expect(again.statusCode).to.equal(202);
    expect(again.json()).to.deep.equal({ id, status: 'submitted' });
    expect(again.headers['idempotent-replayed']).to.equal('true');
    expect(again.headers.location).to.equal(`/v1/tasks/${id}`);
    expect(await h.store.headPosition()).to.equal(head);
    expect((await h.store.readStream(`task-${id}`)).map((e) => e.type)).to.deep.equal(['TaskSubmitted']);
  });

  it('concurrent duplicates make one task', async () => {
    const answers = await Promise.all([1, 2, 3, 4].map(() => submit('burst-1')));
    const ids = new Set(answers.map((r) => (expect(r.statusCode).to.equal(202), r.json().id)));
    expect(ids.size).to.equal(1);
    expect((await h.store.readStream(`task-${[...ids][0]}`)).filter((e) => e.type === 'TaskSubmitted')).to.have.length(1);
    expect(answers.filter((r) => r.headers['idempotent-replayed'] === 'true')).to.have.length(3);
  });

  it('a retry sees the current status (cancelled here), not a new task', async () => {
    const { id } = (await submit('to-cancel')).json();
    expect((await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: acme, payload: {} })).statusCode).to.equal(202);
    const again = await submit('to-cancel');
    expect(again.json()).to.deep.equal({ id, status: 'cancelled' });
  });

  it('the same key with another body is 422 IDEMPOTENCY_KEY_REUSED naming the task; nothing appended', async () => {
    const { id } = (await submit('reused')).json();
    const head = await h.store.headPosition();
    const res = await submit('reused', { steps: [{ tool: 'examples__echo', arguments: { text: 'other' } }] });
    expect(res.statusCode).to.equal(422);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(res.json()).to.include({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'headers.idempotency-key' });
    expect(res.json().detail ?? res.json().message).to.contain(id);
    expect(await h.store.headPosition()).to.equal(head);
  });

  it('keys are per tenant, and no key means a new task each time', async () => {
    const a = (await submit('shared-key')).json().id;
    const b = (await submit('shared-key', STEP, beta)).json().id;
    expect(a).to.not.equal(b);
    const n1 = (await submit(undefined)).json().id;
    const n2 = (await submit(undefined)).json().id;
    expect(n1).to.not.equal(n2);
  });

  it('400 VALIDATION_FAILED for two Idempotency-Key headers, over HTTP (node joined them into one key, "a, b", and made a task of it); nothing appended', async () => {
    const address = await h.app.listen({ port: 0, host: '127.0.0.1' });
    const head = await h.store.headPosition();
    for (const keys of [['order-1', 'order-2'], ['order-1', 'order-1']]) {
      const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { hostname, port } = new URL(address);
        const req = httpRequest({ host: hostname, port, method: 'POST', path: '/v1/tasks', headers: { authorization: acme, 'content-type': 'application/json', 'idempotency-key': keys } }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode!, body }));
        });
        req.on('error', reject).end(JSON.stringify(STEP));
      });
      expect(answer.status, answer.body).to.equal(400);
      expect(JSON.parse(answer.body)).to.include({ code: 'VALIDATION_FAILED', field: 'headers.idempotency-key', detail: 'headers.idempotency-key: given 2 times; give it once' });
    }
    expect(await h.store.headPosition()).to.equal(head);
  });

  for (const [name, key] of [['empty', ''], ['non-ASCII', 'clé'], ['too long', 'k'.repeat(256)]] as const) {
    it(`400 VALIDATION_FAILED naming headers.idempotency-key for a ${name} key; nothing appended`, async () => {
      const head = await h.store.headPosition();
      const res = await submit(key);
      expect(res.statusCode).to.equal(400);
      expect(res.json()).to.include({ code: 'VALIDATION_FAILED', field: 'headers.idempotency-key' });
      expect(await h.store.headPosition()).to.equal(head);
    });
  }
});

describe('Idempotency-Key across API replicas (two event store connections on one MariaDB database)', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let stores: EventStore[] = [];

  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    db = await createTestDatabase('omc_idem');
    stores = [await openSqlEventStore(db.url), await openSqlEventStore(db.url)];
  });
  after(async () => {
    for (const s of stores) await s.close();
    await db?.drop();
  });

  it('the same key submitted at once through two replicas appends exactly one TaskSubmitted', async () => {
    const metadata = { tenant: 'acme', actor: { kind: 'user' as const, id: 'alice' }, correlationId: 'r1' };
    const command = { type: 'SubmitTask' as const, ...STEP };
    const outs = await Promise.all(
      [0, 1, 0, 1, 0, 1].map((i) => submitTask({ store: stores[i], catalog }, { command, metadata, idempotencyKey: 'pay-once' })),
    );
    expect(new Set(outs.map((o) => o.id)).size).to.equal(1);
    expect(outs.filter((o) => !o.replayed)).to.have.length(1);
    const events = await stores[0].readStream(`task-${outs[0].id}`);
    expect(events.map((e) => e.type)).to.deep.equal(['TaskSubmitted']);
  });
});
