import { expect } from 'chai';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { ReplayLog } from '../../src/mcp/replay-log';

const note = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x'.repeat(n) } });

/** The SSE events a replica keeps for resumption: per session and stream, bounded in bytes and age. */
describe('ReplayLog', function () {
  it('replays the events of the same stream and session that followed an id, and nothing for an unknown one', function () {
    const log = new ReplayLog();
    const first = log.append('s1', 'a', note(1));
    const second = log.append('s1', 'a', note(2));
    log.append('s1', 'b', note(3));
    log.append('s2', 'a', note(4));
    const third = log.append('s1', 'a', note(5));
    expect(log.after('s1', first)).to.deep.equal({ stream: 'a', events: [[second, note(2)], [third, note(5)]] });
    expect(log.after('s2', first), 'another session').to.equal(undefined);
    expect(log.after('s1', 'ffffffffffff-1'), 'another log (replica)').to.equal(undefined);
  });

  it("gives ids that tell a session nothing of other sessions' events (no counter shared by all)", function () {
    const log = new ReplayLog();
    const first = log.append('mine', 'a', note(1));
    for (let i = 0; i < 3; i++) log.append('theirs', 'a', note(1));
    const second = log.append('mine', 'a', note(1));
    const counter = (id: string) => Number(/-(\d+)$/.exec(id)?.[1]);
    expect(counter(second) - counter(first), `${first} then ${second}`).to.be.NaN;
    expect(first.split('-')[0], 'the log (replica) prefix').to.equal(second.split('-')[0]);
  });

  it('skips priming events (no message) when replaying', function () {
    const log = new ReplayLog();
    const priming = log.append('s', 'a');
    const id = log.append('s', 'a', note(1));
    expect(log.after('s', priming)!.events).to.deep.equal([[id, note(1)]]);
  });

  it('lets the oldest events go beyond its bytes, all sessions together, keeping the newest whatever its size', function () {
    const log = new ReplayLog({ bytes: 400 });
    const old = log.append('s1', 'a', note(100));
    const mid = log.append('s2', 'a', note(100));
    log.append('s1', 'a', note(100));
    expect(log.streamOf('s1', old), 'the oldest went').to.equal(undefined);
    expect(log.streamOf('s2', mid)).to.equal('a');
    const huge = log.append('s3', 'a', note(1_000));
    expect(log.streamOf('s2', mid)).to.equal(undefined);
    expect(log.streamOf('s3', huge)).to.equal('a');
  });

  it("takes the bytes it lets go from the owner (tenant) holding most: one flooding it evicts its own events, not another's", function () {
    const log = new ReplayLog({ bytes: 1_000 });
    const theirs = log.append('b1', 'a', note(100), 'tenant-b');
    const first = log.append('a1', 'a', note(100), 'tenant-a');
    let last = first;
    for (let i = 0; i < 30; i++) last = log.append(`a${i % 3}`, 'a', note(100), 'tenant-a');
    expect(log.streamOf('b1', theirs), "the other tenant's event stays").to.equal('a');
    expect(log.streamOf('a1', first), "the flooding tenant's oldest went").to.equal(undefined);
    expect(log.streamOf('a2', last)).to.equal('a');
    // Alone over the bound, the newest event stays whatever its size; the next one lets it go.
    const huge = log.append('b1', 'a', note(5_000), 'tenant-b');
    expect(log.streamOf('b1', huge)).to.equal('a');
    log.append('b1', 'a', note(1), 'tenant-b');
    expect(log.streamOf('b1', huge)).to.equal(undefined);
    expect(log.streamOf('a2', last), 'the other tenant, now holding less, keeps its newest').to.equal('a');
  });

  it("keeps each owner's share right once a session of it is forgotten", function () {
    let now = 0;
    const log = new ReplayLog({ bytes: 1_000, ms: 1_000 }, () => now);
    log.append('a1', 'a', note(100), 'tenant-a');
    const a2first = log.append('a2', 'a', note(100), 'tenant-a');
    log.append('a1', 'a', note(100), 'tenant-a');
    const a2second = log.append('a2', 'a', note(100), 'tenant-a');
    log.forget('a1');
    const theirs = log.append('b1', 'a', note(100), 'tenant-b');
    for (let i = 0; i < 3; i++) log.append('a2', 'a', note(100), 'tenant-a');
    expect(log.streamOf('a2', a2first), "tenant-a's oldest went first").to.equal(undefined);
    expect(log.streamOf('a2', a2second)).to.equal('a');
    expect(log.streamOf('b1', theirs)).to.equal('a');
    now = 2_000;
    const fresh = log.append('a2', 'a', note(1), 'tenant-a');
    expect(log.after('a2', fresh)).to.deep.equal({ stream: 'a', events: [] });
    expect(log.streamOf('b1', theirs), 'past its age').to.equal(undefined);
  });

  it('serves the SDK transport as the event store of a session, counted to its owner', function () {
    const log = new ReplayLog({ bytes: 1_000 });
    const theirs = log.append('b1', 'a', note(100), 'tenant-b');
    const store = log.storeFor('a1', 'tenant-a');
    return Promise.all(Array.from({ length: 30 }, () => store.storeEvent('_GET_stream', note(100)))).then(() => {
      expect(log.streamOf('b1', theirs)).to.equal('a');
    });
  });

  it('counts the bytes of multi-byte text as UTF-8 bytes, not as string length', function () {
    // 60 × '日' is 60 characters of a string but 180 bytes: two such events hold ~500 bytes.
    const text = (n: number): JSONRPCMessage => ({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: '日'.repeat(n) } });
    const log = new ReplayLog({ bytes: 400 });
    const old = log.append('s1', 'a', text(60));
    const next = log.append('s2', 'a', text(60));
    expect(log.streamOf('s1', old), 'over 400 bytes: the oldest went').to.equal(undefined);
    expect(log.after('s2', next)).to.deep.equal({ stream: 'a', events: [] });
  });

  it('replays what was sent, not what the message became later (it keeps the JSON, not the object)', function () {
    const log = new ReplayLog();
    const message = note(1) as { params: { data: string } } & JSONRPCMessage;
    const first = log.append('s', 'a');
    const id = log.append('s', 'a', message);
    message.params.data = 'changed';
    expect(log.after('s', first)!.events).to.deep.equal([[id, note(1)]]);
  });

  it('does not replay events older than its window', function () {
    let now = 0;
    const log = new ReplayLog({ ms: 1_000 }, () => now);
    const id = log.append('s', 'a', note(1));
    log.append('s', 'a', note(1));
    now = 999;
    expect(log.after('s', id)!.events).to.have.length(1);
    now = 1_001;
    expect(log.after('s', id)).to.equal(undefined);
  });

  it('forgets an ended session', function () {
    const log = new ReplayLog();
    const id = log.append('s', 'a', note(1));
    log.forget('s');
    expect(log.streamOf('s', id)).to.equal(undefined);
  });

  it('serves the SDK transport as its event store', async function () {
    const log = new ReplayLog();
    const store = log.storeFor('s');
    const priming = await store.storeEvent('_GET_stream', {} as JSONRPCMessage);
    const id = await store.storeEvent('_GET_stream', note(1));
    const sent: [string, JSONRPCMessage][] = [];
    expect(await store.getStreamIdForEventId!(priming)).to.equal('_GET_stream');
    expect(await store.replayEventsAfter(priming, { send: async (e, m) => void sent.push([e, m]) })).to.equal('_GET_stream');
    expect(sent).to.deep.equal([[id, note(1)]]);
  });
});
