import { readFile } from 'node:fs/promises';
import type { RecordedEvent } from '../core/envelope';
import type { BatchExport } from '../proofs/batches';
import { verifyBatchExport } from '../proofs/verify-batch';
import { pinnedAddressProblem } from './pinned-address';
import { printChecks, type Writer } from './print-checks';
import { DEFAULT_RPC_URL } from './verify';

export type RunVerifyBatchOptions = {
  batchId: number;
  /** JSON of GET /v1/batches/:id/events ({batch, events}) or a bare array of envelopes. */
  file: string;
  rpc?: string;
  /** Defaults to batch.anchor.contract in the export; required for a bare array. */
  contract?: string;
  out?: Writer;
};

/**
 * `openmcp verify-batch <id> --file export.json [--rpc URL] [--contract ADDR]`: re-derives the
 * batch root from the exported events and compares it with the chain. Exit code 0 when equal.
 */
export async function runVerifyBatch(o: RunVerifyBatchOptions): Promise<number> {
  const out = o.out ?? ((l: string) => console.log(l));
  const pin = pinnedAddressProblem('--contract (or ANCHOR_CONTRACT)', o.contract);
  if (pin) {
    out(`FAILED: ${pin}`);
    return 2;
  }
  let parsed: BatchExport | RecordedEvent[];
  try {
    parsed = JSON.parse(await readFile(o.file, 'utf8'));
  } catch (err) {
    out(`FAILED: cannot read ${o.file}: ${(err as Error).message}`);
    return 2;
  }
  const events = Array.isArray(parsed) ? parsed : parsed.events;
  const contract = o.contract ?? (Array.isArray(parsed) ? undefined : parsed.batch?.anchor?.contract);
  if (!Array.isArray(events) || !contract) {
    out('FAILED: the export has no events list or no contract address (pass --contract)');
    return 2;
  }
  const results = await verifyBatchExport({ batchId: o.batchId, events, rpcUrl: o.rpc ?? DEFAULT_RPC_URL, contract });
  const warnings = o.contract ? [] : ['the AuditAnchor address was taken from the export; pass --contract (or set ANCHOR_CONTRACT) to the address the operator publishes.'];
  return printChecks(results, out, `batch ${o.batchId}`, warnings);
}
