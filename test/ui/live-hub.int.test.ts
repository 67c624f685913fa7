import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fixedClock } from '../../src/core/clock';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import type { ReadModels } from '../../src/readmodels/port';
import { LiveHub } from '../../src/ui';
import type { EventNotice } from '../../src/ui';

const until = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 2_000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
};

describe('LiveHub: what a reconnecting dashboard hears', function () {
  this.timeout(30_000);
  let dir: string;
  let store: SqlEventStore;
  const hubs: LiveHub[] = [];
  const visible = { waitForPosition: async () => true } as unknown as ReadModels;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-live-hub-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
  });
  afterEach(async () => {
    for (const h of hubs.splice(0)) await h.close();
  });
  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const append = (n: number) => {
    const stream = `task-${newId()}`;
    return store.append(stream, Array.from({ length: n }, () => createEvent({ type: 'TaskSubmitted', stream, tenant: 'acme', actor: { kind: 'system', id: 'test' }, data: {} })));
  };
  const started = async (o: Partial<ConstructorParameters<typeof LiveHub>[0]> = {}) => {
    const hub = new LiveHub({ store, readModels: visible, ...o });
    hubs.push(hub);
    await hub.start();
    return hub;
  };

  it('replays from the position a client names and never repeats what it already had, while the hub is still catching up', async () => {
    await append(10);
    const head = await store.headPosition();
    const hub = await started({ warmEvents: 10 });
    const heard: number[] = [];
    hub.subscribe(head - 4, (n: EventNotice) => heard.push(n.position));
    await until(() => hub.position === head, 'the hub to reach the head');
    // A browser that saw up to head-4 (on this replica before a restart, or on another) wants the rest, once.
    expect(heard).to.deep.equal([head - 3, head - 2, head - 1, head]);
  });

  it('tells every open stream again of events the gap repair made the read models show after their notices went out, at their old positions, live only', async () => {
    const hub = await started({ warmEvents: 0 });
    const live: EventNotice[] = [];
    hub.subscribe(undefined, (n) => live.push(n));
    const { events } = await append(3);
    const head = await store.headPosition();
    await until(() => hub.position === head && live.length === 3, 'the hub to announce them');
    const fromHead: EventNotice[] = [];
    hub.subscribe(head, (n) => fromHead.push(n));
    // Not announced by the hub yet: left to it (its notice goes out once the read models show it).
    const later = { ...events[2], position: head + 1 };
    hub.announceAgain([events[0], later]);
    const again = { ...live[0], again: true };
    expect(live.slice(3), 'a stream that heard it').to.deep.equal([again]);
    expect(fromHead, "a stream that reconnected after it (its page's refetch may have come before the repair)").to.deep.equal([again]);
    const reconnected: EventNotice[] = [];
    hub.subscribe(head - 3, (n) => reconnected.push(n));
    expect(reconnected.map((n) => n.again), 'not kept for pages reconnecting later: their refetch reads the repaired read models').to.deep.equal([undefined, undefined, undefined]);
  });

  it("says when a client's position is older than anything it can replay (the page must reload, not miss events silently)", async () => {
    const before = await store.headPosition();
    const hub = await started({ warmEvents: 0, backlog: 2 });
    await append(6);
    const head = await store.headPosition();
    await until(() => hub.position === head, 'the hub to reach the head');
    expect(hub.covers(head - 1), 'a recent position').to.equal(true);
    expect(hub.covers(head), 'the head').to.equal(true);
    expect(hub.covers(before), 'older than the trimmed backlog').to.equal(false);
    // A restarted process warms from a bounded number of events: older positions are not covered.
    const restarted = await started({ warmEvents: 3 });
    expect(restarted.covers(head - 3)).to.equal(true);
    expect(restarted.covers(head - 4)).to.equal(false);
  });

  it('waits for a stalled read side once, not once per event (the feed does not crawl at one notice per timeout)', async () => {
    const waits: number[] = [];
    let applied = false;
    const stalled = { waitForPosition: async (_p: number, ms: number) => (waits.push(ms), applied) } as unknown as ReadModels;
    const hub = await started({ readModels: stalled, warmEvents: 0, readYourWritesMs: 60_000 });
    await append(4);
    let head = await store.headPosition();
    await until(() => hub.position === head, 'four notices');
    expect(waits).to.deep.equal([60_000, 0, 0, 0]);
    // Once the read side shows an event again, each notice gets its full wait again.
    applied = true;
    await append(2);
    head = await store.headPosition();
    await until(() => hub.position === head, 'two more notices');
    expect(waits.slice(4)).to.deep.equal([0, 60_000]);
  });

  it('shows no sparkline minute it counted only part of: a restarted process warms from its last events, not from a minute boundary', async () => {
    const minute = (ago: number) => new Date((Math.floor(Date.now() / 60_000) - ago) * 60_000 + 30_000).toISOString();
    const stream = `task-${newId()}`;
    const at = (ago: number, n: number) => Array.from({ length: n }, () => createEvent({ type: 'TaskSubmitted', stream, tenant: 'minutes', actor: { kind: 'system', id: 'test' }, data: {} }, fixedClock(minute(ago))));
    await store.append(stream, [...at(5, 3), ...at(3, 3)]);
    const head = await store.headPosition();
    // Warm from the last 4 events: one of minute -5 (of its 3), all 3 of minute -3.
    const hub = await started({ warmEvents: 4 });
    await until(() => hub.position === head, 'the warm-up');
    const series = hub.activity.series('minutes', Date.now());
    const at5 = series.find((b) => b.start === new Date(Date.parse(minute(5)) - 30_000).toISOString());
    const at3 = series.find((b) => b.start === new Date(Date.parse(minute(3)) - 30_000).toISOString());
    expect(at5?.tasksSubmitted, 'minute -5 had 3 submissions, 1 of them counted').to.equal(undefined);
    expect(at3?.tasksSubmitted).to.equal(3);
  });
});
