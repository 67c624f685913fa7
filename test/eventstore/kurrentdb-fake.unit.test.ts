import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import { MemoryLog, type Expected, type Proposed } from '../support/kurrentdb-fake/memoryLog';

/**
 * The fake's idempotency rules are KurrentDB's (IndexWriter.CheckCommit; the client docs'
 * "Optimistic concurrency and idempotence"): the adapter is tested against them, so the fake must
 * be neither kinder nor stricter than the server here.
 */
describe('KurrentDB fake: the server’s idempotency rules', () => {
  const rec = (id = randomUUID()): Proposed => ({ id, type: 'TaskStarted', contentType: 'application/json', data: Buffer.from('{}'), customMetadata: new Uint8Array() });
  const any: Expected = { kind: 'any' };
  const at = (revision: number): Expected => ({ kind: 'exact', revision });
  const ids = (log: MemoryLog, stream: string) => (log.stream(stream) ?? []).map((r) => r.id);

  it('writes one id into two streams: ids are checked per stream', () => {
    const log = new MemoryLog();
    const e = rec();
    expect(log.append('task-a', { kind: 'no_stream' }, [e]).ok).to.equal(true);
    expect(log.append('task-b', { kind: 'no_stream' }, [e]).ok).to.equal(true);
    expect(log.append('task-c', any, [e]).ok).to.equal(true);
    expect(log.all.filter((r) => r.id === e.id).map((r) => r.stream)).to.deep.equal(['task-a', 'task-b', 'task-c']);
  });

  it("recognises an 'any' retry only while it remembers the ids, and only for the stream they were last written to", () => {
    const log = new MemoryLog();
    const [a, b] = [rec(), rec()];
    const first = log.append('task-a', any, [a, b]);
    expect(log.append('task-a', any, [a, b])).to.deep.equal(first);
    log.append('task-b', any, [b]);
    expect(log.append('task-a', any, [b]).ok, 'b was last written to task-b: written again').to.equal(true);
    expect(ids(log, 'task-a')).to.deep.equal([a.id, b.id, b.id]);
    log.forgetRecentIds();
    log.append('task-a', any, [a]);
    expect(ids(log, 'task-a'), 'forgotten: written again').to.deep.equal([a.id, b.id, b.id, a.id]);
  });

  it('keeps only the most recent ids', () => {
    const log = new MemoryLog(2);
    const [a, b, c] = [rec(), rec(), rec()];
    log.append('task-a', any, [a, b, c]);
    log.append('task-a', any, [c]);
    log.append('task-a', any, [a]);
    expect(ids(log, 'task-a')).to.deep.equal([a.id, b.id, c.id, a.id]);
  });

  it("refuses an 'any' append whose first id is a recent one of the stream and a later one is not (WrongExpectedVersion)", () => {
    const log = new MemoryLog();
    const [a, b] = [rec(), rec()];
    log.append('task-a', any, [a]);
    expect(log.append('task-a', any, [a, b])).to.deep.equal({ ok: false, currentRevision: 0 });
    expect(log.append('task-a', any, [b, a]).ok, 'a new first id: a new write').to.equal(true);
    expect(ids(log, 'task-a')).to.deep.equal([a.id, b.id, a.id]);
  });

  it('recognises a retry at its original expected revision from the stream itself, even after forgetting', () => {
    const log = new MemoryLog();
    const [a, b, c] = [rec(), rec(), rec()];
    log.append('task-a', { kind: 'no_stream' }, [a]);
    const second = log.append('task-a', at(0), [b, c]);
    log.forgetRecentIds();
    expect(log.append('task-a', at(0), [b, c])).to.deep.equal(second);
    expect(log.append('task-a', { kind: 'no_stream' }, [a]).ok).to.equal(true);
    expect(log.append('task-a', at(0), [b, rec()]), 'partly other ids').to.deep.equal({ ok: false, currentRevision: 2 });
    expect(log.append('task-a', at(0), [c]), 'other ids at that place').to.deep.equal({ ok: false, currentRevision: 2 });
    expect(ids(log, 'task-a')).to.deep.equal([a.id, b.id, c.id]);
  });

  it('writes stored ids again at the current revision: the check there is on the revision alone', () => {
    const log = new MemoryLog();
    const a = rec();
    log.append('task-a', { kind: 'no_stream' }, [a]);
    expect(log.append('task-a', at(0), [a]).ok).to.equal(true);
    expect(ids(log, 'task-a')).to.deep.equal([a.id, a.id]);
  });
});
