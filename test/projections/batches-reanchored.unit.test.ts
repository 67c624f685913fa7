import { expect } from 'chai';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { batchesProjection, type BatchDoc } from '../../projections/batches.projection';

const anchor = (txHash: string, blockNumber: number) => ({ batchId: 4, firstSeq: 12, lastSeq: 14, root: `0x${'ab'.repeat(32)}`, chainId: 31337, contract: `0x${'c'.repeat(40)}`, txHash, blockNumber, gasUsed: 77_000 });
const tx = (n: number) => `0x${String(n).padStart(64, '0')}`;

function recorded(type: string, data: Record<string, unknown>, stream: string): RecordedEvent {
  return { ...createEvent({ type, stream, tenant: 'system', actor: { kind: 'system', id: 'anchorer' }, data }), revision: 0, position: 0, hash: `0x${'0'.repeat(64)}` } as RecordedEvent;
}

const anchored = recorded('BatchAnchored', anchor(tx(1), 5), 'auditanchor-x');
const again = recorded('BatchReanchored', { ...anchor(tx(2), 9), replacesTxHash: tx(1), replacesBlockNumber: 5 }, 'auditreanchor-x');
const third = recorded('BatchReanchored', { ...anchor(tx(3), 12), replacesTxHash: tx(2), replacesBlockNumber: 9 }, 'auditreanchor-x');

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

  it('leaves an anchor alone that the BatchReanchored does not replace (another deployment\'s)', () => {
    const other = recorded('BatchAnchored', { ...anchor(tx(8), 2), contract: `0x${'d'.repeat(40)}` }, 'auditanchor-y');
    expect(fold([other, again])).to.include({ txHash: tx(8), blockNumber: 2 });
  });
});
