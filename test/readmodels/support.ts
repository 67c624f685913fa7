import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { Projector } from '../../src/projector/projector';
import { SqlReadModels } from '../../src/readmodels/sql-read-models';
import { openTestDb, type Dialect, type TestDb } from '../projections/support';
import { mysqlAvailable, requireService } from '../support/services';

export type ProjectedReadModels = { db: TestDb; projector: Projector; rm: SqlReadModels };

/**
 * For a describe block of one dialect: each test gets a fresh migrated database, its projector
 * running over the in-process bus, and SqlReadModels over it (MariaDB's suite needs the service).
 * The fields are set before each test.
 * @example const t = projectedReadModels('mysql'); it('…', () => t.rm.listTasks('acme', { limit: 10 }))
 */
export function projectedReadModels(dialect: Dialect): ProjectedReadModels {
  const t = {} as ProjectedReadModels;
  before(async function () {
    if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
  });
  beforeEach(async () => {
    t.db = await openTestDb(dialect);
    t.projector = new Projector({ knex: t.db.knex, bus: new InProcessBus(t.db.store, new MemoryCheckpointStore()) });
    await t.projector.start();
    t.rm = new SqlReadModels({ knex: t.db.knex, applied: t.projector.applied });
  });
  afterEach(async () => {
    await t.projector?.stop();
    await t.db?.close();
  });
  return t;
}
