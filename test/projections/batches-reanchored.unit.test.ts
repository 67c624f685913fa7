import { expect } from 'chai';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { batchesProjection, type BatchDoc } from '../../projections/batches.projection';
import { batchFromRow, batchRow } from '../../projections/batches.sql';

const anchor = (txHash: string, blockNumber: number) => ({ batchId: 4, firstSeq: 12, lastSeq: 14, root: `0x${'ab'.repeat(32)}`, chainId: 31337, contract: `0x${'c'.repeat(40)}`, txHash, blockNumber, gasUsed: 77_000 });
const tx = (n: number) => `0x${String(n).padStart(64, '0')}`;

function recorded(type: string, data: Record<string, unknown>, stream: string, position: number): RecordedEvent {
  return { ...createEvent({ type, stream, tenant: 'system', actor: { kind: 'system', id: 'anchorer' }, data }), revision: 0, position, hash: `0x${'0'.repeat(64)}` } as RecordedEvent;
}

const anchored = recorded('BatchAnchored', anchor(tx(1), 5), 'auditanchor-x', 10);
const again = recorded('BatchReanchored', { ...anchor(tx(2), 9), replacesTxHash: tx(1), replacesBlockNumber: 5 }, 'auditreanchor-x', 20);
const third = recorded('BatchReanchored', { ...anchor(tx(3), 12), replacesTxHash: tx(2), replacesBlockNumber: 9 }, 'auditreanchor-x', 30);

function fold(events: RecordedEvent[]): BatchDoc | undefined {
  let doc: BatchDoc | undefined;
  for (const e of events) if (batchesProjection.canHandle(e)) doc = batchesProjection.evolve(doc, e);
  return doc;
}

describe('batches projection after ANCHORS_LOST (BatchReanchored)', () => {
  it('shows the batch anchor of the last BatchReanchored, in whichever order the streams arrive, idempotently (was: the lost transaction of BatchAnchored)', () => {
    for (const order of [[anchored, again, third], [again, anchored, third], [again, third, anchored], [anchored, again, again, third, third, anchored]]) {
      expect(fold(order), order.map((e) => e.type).join(',')).to.include({ txHash: tx(3), blockNumber: 12, anchoredAt: third.occurredAt });
    }
  });

  it('shows the newest re-anchoring by log position when one between was never delivered, in any order (was: the BatchAnchored\'s lost transaction, or the older re-anchoring)', () => {
    // `again` lost between the two (a bus that dropped it, a consumer that skipped it): `third` names an anchor the document never had.
    for (const order of [[anchored, third], [third, anchored], [anchored, third, anchored, third]]) {
      expect(fold(order), order.map((e) => e.position).join(',')).to.include({ txHash: tx(3), blockNumber: 12 });
    }
    const fourth = recorded('BatchReanchored', { ...anchor(tx(4), 15), replacesTxHash: tx(3), replacesBlockNumber: 12 }, 'auditreanchor-x', 40);
    for (const order of [[anchored, again, fourth, third], [fourth, again], [again, fourth, third, anchored], [anchored, fourth, again]]) {
      expect(fold(order), order.map((e) => e.position).join(',')).to.include({ txHash: tx(4), blockNumber: 15 });
    }
    // The same transaction mined again in another block (a reorg): the newest block.
    const moved = recorded('BatchReanchored', { ...anchor(tx(1), 8), replacesTxHash: tx(1), replacesBlockNumber: 5 }, 'auditreanchor-x', 25);
    for (const order of [[anchored, moved], [moved, anchored]]) expect(fold(order)).to.include({ txHash: tx(1), blockNumber: 8 });
  });

  it('survives the read model\'s own rows (the anchor\'s position kept through the SQL row)', () => {
    const reread = batchFromRow(batchRow(fold([anchored])!));
    expect(batchesProjection.evolve(reread, anchored)).to.equal(reread);
    expect(batchesProjection.evolve(batchesProjection.evolve(reread, third), again)).to.include({ txHash: tx(3) });
  });

  it('leaves an anchor alone that the BatchReanchored does not replace (another deployment\'s)', () => {
    const other = recorded('BatchAnchored', { ...anchor(tx(8), 2), contract: `0x${'d'.repeat(40)}` }, 'auditanchor-y', 5);
    expect(fold([other, again])).to.include({ txHash: tx(8), blockNumber: 2 });
    expect(fold([other, third])).to.include({ txHash: tx(8), blockNumber: 2 });
  });
});
