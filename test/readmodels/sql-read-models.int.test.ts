import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { encodeTaskCursor } from '../../src/readmodels/cursor';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { type TestDb, openProjectedReadModels } from '../projections/support';

const actor = { kind: 'user' as const, id: 'u' };

async function submit(db: TestDb, tenant: string, agentId: string) {
  const stream = `task-${newId()}`;
  const r = await db.store.append(stream, [createEvent({ type: 'TaskSubmitted', stream, tenant, actor, data: { instruction: 'x', agentId } })]);
  return { id: stream.slice(5), position: r.position };
}

describe('SqlReadModels (SQLite)', () => {
  let db: TestDb;
  let rm: SqlReadModels;
  beforeEach(async () => ({ db, rm } = await openProjectedReadModels('sqlite')));
  afterEach(() => db.close());

  it('read-your-writes: a submitted task is visible once waitForPosition resolves', async () => {
    const t = await submit(db, 'acme', 'a1');
    expect(await rm.waitForPosition(t.position, 5000)).to.equal(true);
    expect((await rm.getTask('acme', t.id))!.status).to.equal('submitted');
    // Without the in-process notifier (another process): the database is polled.
    expect(await new SqlReadModels({ knex: db.knex }).waitForPosition(t.position, 5000)).to.equal(true);
    expect(await rm.waitForPosition(t.position + 1000, 60)).to.equal(false);
  });

  it('read-your-writes without the notifier (an API process without a projector) polls, never spins', async () => {
    const polling = new SqlReadModels({ knex: db.knex, pollIntervalMs: 25 });
    // Not yet projected when the wait starts: the projector must get to run while it waits.
    const t = submit(db, 'acme', 'a1');
    expect(await polling.waitForPosition((await t).position, 5000)).to.equal(true);
    let queries = 0;
    const count = () => void queries++;
    db.knex.on('query', count);
    expect(await polling.waitForPosition(1_000_000, 300)).to.equal(false);
    db.knex.off('query', count);
    expect(queries, 'one query per poll interval').to.be.below(30);
  });

  it('pages with a keyset cursor, stable under inserts, with filters', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await submit(db, 'acme', i % 2 ? 'odd' : 'even')).id);
    await submit(db, 'globex', 'even');
    expect(await rm.waitForPosition(await db.store.headPosition(), 5000)).to.equal(true);
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await rm.listTasks('acme', { limit: 3, cursor });
      seen.push(...page.items.map((t) => t.id));
      cursor = page.nextCursor;
      const late = await submit(db, 'acme', 'even'); // newer than every cursor: must not shift pages
      await rm.waitForPosition(late.position, 5000);
    } while (cursor);
    expect(seen).to.deep.equal([...ids].reverse());
    const odd = await rm.listTasks('acme', { limit: 100, agentId: 'odd' });
    expect(odd.items).to.have.length(3);
    expect((await rm.listTasks('acme', { limit: 100, status: 'running' })).items).to.deep.equal([]);
    expect((await rm.listTasks('acme', { limit: 100, from: '2999-01-01T00:00:00.000Z' })).items).to.deep.equal([]);
  });

  for (const bad of ['%%%', 'eyJ4IjoxfQ', encodeTaskCursor({ createdAt: 'yesterday', id: 'x' }), Buffer.from('[1]').toString('base64url'), 'a'.repeat(700)]) {
    it(`rejects cursor ${bad.slice(0, 20)} as INVALID_CURSOR naming cursor (as every list does)`, async () => {
      const err = await rm.listTasks('acme', { limit: 3, cursor: bad }).catch((e) => e);
      expect(err.code).to.equal('INVALID_CURSOR');
      expect(err.details).to.deep.equal({ field: 'cursor' });
      expect(err.status).to.equal(400);
    });
  }

  it('rejects a bad limit and time naming the field', async () => {
    expect((await rm.listTasks('acme', { limit: 0 }).catch((e) => e)).details).to.deep.equal({ field: 'limit' });
    expect((await rm.listTasks('acme', { limit: 5, from: 'soon' }).catch((e) => e)).details).to.deep.equal({ field: 'from' });
  });

  it('keeps tenants apart in tasks and the audit log', async () => {
    const t = await submit(db, 'acme', 'a');
    await rm.waitForPosition(t.position, 5000);
    expect(await rm.getTask('globex', t.id)).to.equal(undefined);
    expect((await rm.listAuditEvents('globex', { limit: 10 })).items).to.deep.equal([]);
    const all = await rm.listAuditEvents(null, { limit: 10 });
    expect(all.items[0]).to.include({ type: 'TaskSubmitted', seq: t.position });
    expect((await rm.getAuditEvent('acme', all.items[0].id))!.hash).to.equal(all.items[0].hash);
    expect(await rm.getAuditEvent('globex', all.items[0].id)).to.equal(undefined);
  });
});
