import { expect } from 'chai';
import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCache } from '../../src/cache/memory';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { Projector } from '../../src/projector/projector';
import { readCacheFor } from '../../src/readmodels/read-cache-choice';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { openTestDb, type TestDb } from '../projections/support';

const actor = { kind: 'user' as const, id: 'u' };

/**
 * Roles split over processes without Redis (OPENMCP_ROLES=api here, projector elsewhere; or one
 * Kafka group member among several): each process has its own in-memory cache, and only a
 * process's own projector refreshes it.
 */
describe('read cache of a process whose projector does not see every event', () => {
  let db: TestDb;
  let projector: Projector;
  beforeEach(async () => {
    db = await openTestDb('sqlite');
    // "The projector process", with its own cache.
    projector = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, new MemoryCheckpointStore()), cache: new MemoryCache() });
    await projector.start();
  });
  afterEach(async () => {
    await projector.stop();
    await db.close();
  });

  async function append(stream: string, type: string) {
    const r = await db.store.append(stream, [createEvent({ type, stream, tenant: 'acme', actor, data: type === 'TaskSubmitted' ? { instruction: 'x' } : {} })]);
    return r.position;
  }

  it('an API process reads a task as it is now, not as it was when first read', async () => {
    const own = new MemoryCache();
    const rm = new SqlReadModels({ knex: db.knex, cache: readCacheFor({ cache: own, shared: false, projectorSeesEveryEvent: false }) });
    const stream = `task-${newId()}`;
    expect(await rm.waitForPosition(await append(stream, 'TaskSubmitted'), 5000)).to.equal(true);
    expect((await rm.getTask('acme', stream.slice(5)))!.status).to.equal('submitted');
    expect(await rm.waitForPosition(await append(stream, 'TaskStarted'), 5000)).to.equal(true);
    expect((await rm.getTask('acme', stream.slice(5)))!.status).to.equal('running');
  });

  it('a process that projects every event itself, or a shared cache, keeps reading through the cache', () => {
    const cache = new MemoryCache();
    expect(readCacheFor({ cache, shared: false, projectorSeesEveryEvent: true })).to.equal(cache);
    expect(readCacheFor({ cache, shared: true, projectorSeesEveryEvent: false })).to.equal(cache);
  });
});
