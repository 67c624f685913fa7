/**
 * The projection lag gauge over the KurrentDB adapter (gRPC fake): its positions are log offsets
 * with gaps, so head − watermark is bytes; the gauge must count events.
 */
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { eventsAfter } from '../../src/eventstore/events-after';
import { openKurrentEventStore } from '../../src/eventstore/kurrentdb';
import type { EventStore } from '../../src/eventstore/port';
import { Projector } from '../../src/projector/projector';
import { startKurrentFake, type KurrentFake } from '../support/kurrentdb-fake';
import { appendEvents } from '../relay/event-log-fixture';
import { openTestDb, type TestDb } from './support';

describe('projection lag on KurrentDB (gRPC fake)', function () {
  this.timeout(60_000);
  let fake: KurrentFake;
  let store: EventStore;
  let db: TestDb;

  before(async () => {
    fake = await startKurrentFake();
    store = await openKurrentEventStore(fake.url);
    db = await openTestDb('sqlite');
  });
  after(async () => {
    await store?.close();
    await fake?.stop();
    await db?.close();
  });

  it('counts the events not yet applied, not the log bytes between positions', async () => {
    await appendEvents(store, 3, 4, 2);
    const events = await store.readAll({ limit: 100 });
    expect(events).to.have.length(12);
    const registry = new Registry();
    const projector = new Projector({ knex: db.knex, bus: new InProcessBus(store, new MemoryCheckpointStore()), registry, eventsAfter: (p) => eventsAfter(store, p) });
    await projector.applyEvents(events.slice(0, 5));
    const text = await registry.getSingleMetricAsString('openmcp_projection_lag_events');
    expect(text).to.match(/openmcp_projection_lag_events\{projection="tasks"\} 7$/m);
  });
});
