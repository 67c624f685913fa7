import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { UnavailableError } from '../../src/core/errors';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import { cutProxy, type CutProxy } from '../support/cut-proxy';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

const actor = { kind: 'system' as const, id: 'test' };
const event = (stream: string) => createEvent({ type: 'Noted', stream, tenant: 't', actor, correlationId: 'c', data: {} });

describe('SQL event store on MariaDB while the server is unreachable (behind a cuttable proxy)', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let proxy: CutProxy;
  let store: SqlEventStore;

  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    db = await createTestDatabase('omc_es_outage');
    const u = new URL(db.url);
    proxy = await cutProxy(u.hostname, Number(u.port || 3306));
    u.host = `127.0.0.1:${proxy.port}`;
    store = await openSqlEventStore(u.toString());
  });
  afterEach(async () => proxy?.up());
  after(async () => {
    await proxy?.up();
    await store?.close();
    await proxy?.close();
    await db?.drop();
  });

  it('reports reads and appends as DEPENDENCY_UNAVAILABLE (the driver\'s error as cause) while down, and works again once the server is back', async () => {
    await store.append('note-1', [event('note-1')], { expectedRevision: 'no_stream' });
    await proxy.down();
    const read = await store.readStream('note-1').then(() => undefined, (e: unknown) => e);
    expect(read).to.be.instanceOf(UnavailableError);
    expect((read as UnavailableError).code).to.equal('DEPENDENCY_UNAVAILABLE');
    expect((read as UnavailableError).message).to.match(/^event store \(mysql\): readStream note-1: [A-Z_]+$/);
    expect(((read as Error).cause as { code?: string }).code).to.be.a('string');
    const appended = await store.append('note-1', [event('note-1')], { expectedRevision: 0 }).then(() => undefined, (e: unknown) => e);
    expect((appended as UnavailableError).code).to.equal('DEPENDENCY_UNAVAILABLE');
    const all = await store.readAll().then(() => undefined, (e: unknown) => e);
    expect((all as UnavailableError).code).to.equal('DEPENDENCY_UNAVAILABLE');
    const head = await store.headPosition().then(() => undefined, (e: unknown) => e);
    expect((head as UnavailableError).code).to.equal('DEPENDENCY_UNAVAILABLE');
    await proxy.up();
    const end = Date.now() + 20_000;
    let events = await store.readStream('note-1').catch(() => undefined);
    while (!events && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 200));
      events = await store.readStream('note-1').catch(() => undefined);
    }
    expect(events?.map((e) => e.revision)).to.deep.equal([0]);
    await store.append('note-1', [event('note-1')], { expectedRevision: 0 });
    expect((await store.readStream('note-1')).map((e) => e.revision)).to.deep.equal([0, 1]);
  });

  it('leaves errors that are not an outage as they are (a conflict stays WRONG_EXPECTED_REVISION)', async () => {
    const err = await store.append('note-1', [event('note-1')], { expectedRevision: 0 }).then(() => undefined, (e: unknown) => e);
    expect((err as { code?: string }).code).to.equal('WRONG_EXPECTED_REVISION');
  });
});
