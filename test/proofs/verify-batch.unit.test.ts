import { expect } from 'chai';
import eventHashVectors from '../vectors/event-hash.json';
import type { RecordedEvent } from '../../src/core/envelope';
import { verifyBatchExport } from '../../src/proofs/verify-batch';

const UNREACHABLE_RPC = 'http://127.0.0.1:9/';
const events = (): RecordedEvent[] => eventHashVectors.cases.slice(0, 3).map((c, i) => ({ ...c.event, revision: 0, position: i, hash: c.hash }) as RecordedEvent);

/** A doctored export is a failed check, never a crash of `openmcp verify-batch`. */
describe('verifyBatchExport on a doctored export', () => {
  const cases: [string, (es: RecordedEvent[]) => void][] = [
    ['a float in an event (no canonical form; it threw)', (es) => (es[1].data = { ...es[1].data, amount: 1.5 })],
    ['a malformed hash', (es) => (es[2].hash = '0x12' as never)],
    ['a null in the list (it threw)', (es) => (es[0] = null as never)],
  ];
  for (const [what, doctor] of cases) {
    it(`fails "event hashes" on ${what}`, async () => {
      const es = events();
      doctor(es);
      const results = await verifyBatchExport({ batchId: 0, events: es, rpcUrl: UNREACHABLE_RPC, contract: `0x${'ab'.repeat(20)}` });
      expect(results[0]).to.include({ name: 'event hashes', ok: false });
      expect(results[0].detail).to.match(/^1 event\(s\) do not match their hash/);
    });
  }

  // As `openmcp verify` refuses it in a proof file: the hashes prove the envelope's fields, not what rides beside them.
  it('fails "event hashes" on a field the hash does not cover (it passed: a note beside a proven event)', async () => {
    const es = events();
    (es[1] as unknown as Record<string, unknown>).approvedBy = 'the auditor';
    const results = await verifyBatchExport({ batchId: 0, events: es, rpcUrl: UNREACHABLE_RPC, contract: `0x${'ab'.repeat(20)}` });
    expect(results[0]).to.deep.equal({
      name: 'event hashes',
      ok: false,
      detail: `1 event(s) are not a recorded event envelope, first ${es[1].id}: unexpected field "approvedBy"`,
    });
  });

  // It said "first undefined": the event had no id to name it by.
  it('names an event without an id by its place in the list, and why it is not an envelope', async () => {
    const es = events();
    es[2] = { text: 'not an event' } as never;
    es[0] = null as never;
    const results = await verifyBatchExport({ batchId: 0, events: es, rpcUrl: UNREACHABLE_RPC, contract: `0x${'ab'.repeat(20)}` });
    expect(results[0]).to.deep.equal({
      name: 'event hashes',
      ok: false,
      detail: '2 event(s) do not match their hash, first events[0]: not an object',
    });
    es[0] = events()[0];
    const second = await verifyBatchExport({ batchId: 0, events: es, rpcUrl: UNREACHABLE_RPC, contract: `0x${'ab'.repeat(20)}` });
    expect(second[0].detail).to.equal('1 event(s) do not match their hash, first events[2]: field id is missing or malformed');
  });

  it('passes "event hashes" on the envelopes as exported', async () => {
    const results = await verifyBatchExport({ batchId: 0, events: events(), rpcUrl: UNREACHABLE_RPC, contract: `0x${'ab'.repeat(20)}` });
    expect(results[0]).to.deep.equal({ name: 'event hashes', ok: true, detail: '3 events' });
  });
});
