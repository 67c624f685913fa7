import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import type { Subscription } from '../../src/eventstore/port';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';

const actor = { kind: 'system' as const, id: 'test' };
const ev = (stream: string, n: number) => createEvent({ type: 'TaskStarted', stream, tenant: 'acme', actor, data: { n, note: undefined, nested: { a: [1, 'x'] } } });

async function take(sub: Subscription, n: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for await (const e of sub) {
    out.push(e);
    if (out.length === n) break;
  }
  return out;
}

// Live subscribers get their own process's appends from memory; these check that the feed stays
// exactly the table's order and content when that meets other processes' appends.
describe('SQL event store: live hand-over of local appends (SQLite)', () => {
  let dir: string;
  let local: SqlEventStore;
  let other: SqlEventStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-handoff-'));
    const url = `sqlite:${join(dir, 'events.db')}`;
    // A long poll: only a detected gap can make the subscriber read another process's appends in time.
    local = await openSqlEventStore(url, { pollIntervalMs: 60_000 });
    other = await openSqlEventStore(url);
  });
  afterEach(async () => {
    await local.close();
    await other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers what the table holds, in order, when local and foreign appends interleave', async () => {
    const sub = local.subscribeAll({ after: -1 });
    try {
      const reading = take(sub, 40);
      for (let i = 0; i < 20; i++) {
        await other.append(`task-o${i}`, [ev(`task-o${i}`, i)]);
        await Promise.all([local.append(`task-l${i}`, [ev(`task-l${i}`, i)])]);
      }
      const seen = await reading;
      const table = await local.readAll({ limit: 100 });
      expect(seen.map((e) => e.position)).to.deep.equal(table.map((e) => e.position));
      // Handed-over events equal read ones field for field (undefined dropped as in the JSON body).
      expect(seen).to.deep.equal(table);
    } finally {
      await sub.close();
    }
  });

  it('hands a local append over without a poll, exactly equal to the stored row', async () => {
    const sub = local.subscribeAll({ after: await local.headPosition() });
    try {
      const reading = take(sub, 3);
      const r = await local.append('task-x', [ev('task-x', 1), ev('task-x', 2), ev('task-x', 3)]);
      const seen = await reading;
      expect(seen.map((e) => e.position)).to.deep.equal(r.events.map((e) => e.position));
      expect(seen).to.deep.equal(await local.readStream('task-x'));
    } finally {
      await sub.close();
    }
  });
});
