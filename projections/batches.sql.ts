import { documentApplier, type DocumentStore } from './document-applier';
import { jsonOrNull, num, orUndefined, parseJson, upsertRows } from './sql-rows';
import { batchesProjection, type AnchorOrigin, type BatchDoc } from './batches.projection';

type Row = Record<string, unknown>;
const s = (v: unknown) => orUndefined(v as string | null);

export function batchFromRow(r: Row): BatchDoc {
  return {
    batchId: Number(r.batch_id),
    firstSeq: num(r.first_seq),
    lastSeq: num(r.last_seq),
    root: s(r.root),
    prevRoot: s(r.prev_root),
    signer: s(r.signer),
    signature: s(r.signature),
    sealedAt: s(r.sealed_at),
    chainId: num(r.chain_id),
    contract: s(r.contract),
    txHash: s(r.tx_hash),
    blockNumber: num(r.block_number),
    gasUsed: s(r.gas_used),
    anchoredAt: s(r.anchored_at),
    anchorOf: parseJson<{ anchorOf?: AnchorOrigin }>(r.extra_json)?.anchorOf,
  };
}

export function batchRow(d: BatchDoc): Row {
  return {
    batch_id: d.batchId,
    first_seq: d.firstSeq ?? null,
    last_seq: d.lastSeq ?? null,
    root: d.root ?? null,
    prev_root: d.prevRoot ?? null,
    signer: d.signer ?? null,
    signature: d.signature ?? null,
    sealed_at: d.sealedAt ?? null,
    chain_id: d.chainId ?? null,
    contract: d.contract ?? null,
    tx_hash: d.txHash ?? null,
    block_number: d.blockNumber ?? null,
    gas_used: d.gasUsed ?? null,
    anchored_at: d.anchoredAt ?? null,
    // Where the anchor shown was recorded, to order re-anchorings by log position (batchesProjection).
    extra_json: jsonOrNull(d.anchorOf && { anchorOf: d.anchorOf }),
  };
}

export const batchSqlStore: DocumentStore<BatchDoc> = {
  async load(db, t, ids) {
    const out = new Map<string, BatchDoc>();
    if (ids.length) for (const r of await db(t.batches).whereIn('batch_id', ids.map(Number))) out.set(String(r.batch_id), batchFromRow(r));
    return out;
  },
  async save(db, t, changes) {
    await upsertRows(db, t.batches, 'batch_id', changes.map((c) => batchRow(c.doc)));
  },
};

export const batchesApplier = documentApplier(batchesProjection, batchSqlStore);
