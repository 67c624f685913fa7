import type { RecordedEvent } from '../core/envelope';
import { redactUrl } from '../core/errors';
import type { OpenMcpClient } from '../sdk/client';
import { BaseUrlError, ConnectionError, ForbiddenApiError, NotFoundApiError, UnauthenticatedApiError } from '../sdk/errors';
import type { BatchExport } from '../proofs/batches';
import { verifyBatchExport } from '../proofs/verify-batch';
import { apiProblemIn } from './api-problem';
import { pinnedAddressProblem, rpcUrlProblem } from './pinned-address';
import { printChecks, type Writer } from './print-checks';
import { printable } from './printable';
import { parseJsonText, readJsonFile } from './read-json-file';
import { unknownBatchHint } from './unknown-batch-hint';
import { DEFAULT_RPC_URL } from './verify';

export type RunVerifyBatchOptions = {
  batchId: number;
  /** JSON of GET /v1/batches/:id/events ({batch, events}) or a bare array of envelopes. */
  file?: string;
  /** Without `file`: the gateway the export is fetched from (GET /v1/batches/:id/events, as `batches export`). */
  client?: OpenMcpClient;
  rpc?: string;
  /** Defaults to batch.anchor.contract in the export; required for a bare array. */
  contract?: string;
  /** The sealer address to trust; defaults to the one in the export's batch head. */
  signer?: string;
  out?: Writer;
};

/**
 * `openmcp verify-batch <id> [--file export.json] [--rpc URL] [--contract ADDR] [--signer ADDR]`:
 * re-derives the batch root from the exported events and compares it with the chain (the one the
 * export names, when it names one), and checks the batch head's signature as `verify` does. The
 * export is the file, else fetched from `client` (the gateway: a cross-tenant key) and checked as
 * it was sent, as a file saved by `batches export` would be. Exit code 0 when all pass, 1 naming
 * the failed check, 2 when the file cannot be read or the export fetched, names a key twice in one
 * object, is the export of another batch, or a pinned address or the RPC URL is malformed.
 */
export async function runVerifyBatch(o: RunVerifyBatchOptions): Promise<number> {
  // Every line may quote the file, the operator's text: its control characters are printed as escapes.
  const write = o.out ?? ((l: string) => console.log(l));
  const out = (l: string) => write(printable(l));
  const pin = pinnedAddressProblem('--contract (or ANCHOR_CONTRACT)', o.contract) ?? pinnedAddressProblem('--signer', o.signer) ?? rpcUrlProblem(o.rpc);
  if (pin) {
    out(`FAILED: ${pin}`);
    return 2;
  }
  const read = o.file !== undefined
    ? await readJsonFile(o.file, {
      what: 'an export of one batch',
      tooLarge: 'verify-batch cannot check it; check its events one by one with their proofs (openmcp verify)',
    })
    : await fetchExport(o.client, o.batchId);
  if (read.problem !== undefined) {
    out(`FAILED: ${read.problem}`);
    return 2;
  }
  const parsed = read.value as BatchExport | RecordedEvent[];
  // The API's error answer saved in place of the export (403 for a key that is not cross-tenant, 404).
  const problem = o.file !== undefined ? apiProblemIn(parsed) : undefined;
  if (problem) {
    out(`FAILED: ${o.file} is an error answer from the API, not a batch export: ${problem}`);
    return 2;
  }
  const head = Array.isArray(parsed) ? undefined : parsed?.batch;
  const events = Array.isArray(parsed) ? parsed : parsed?.events;
  const contract = o.contract ?? head?.anchor?.contract;
  if (!Array.isArray(events) || !contract) {
    out('FAILED: the export has no events list or no contract address (pass --contract)');
    return 2;
  }
  // Checked against batch <id> on chain, another batch's events only show as "roots differ".
  if (head?.id !== undefined && head.id !== o.batchId) {
    out(`FAILED: the export is of batch ${head.id}, not batch ${o.batchId}: pass its id, or export batch ${o.batchId}`);
    return 2;
  }
  const results = await verifyBatchExport({ batchId: o.batchId, events, rpcUrl: o.rpc ?? DEFAULT_RPC_URL, contract, head: head && typeof head === 'object' ? head : undefined, signer: o.signer });
  const warnings = o.contract ? [] : ['the AuditAnchor address was taken from the export; pass --contract (or set ANCHOR_CONTRACT) to the address the operator publishes.'];
  return printChecks(results, out, `batch ${o.batchId}`, warnings);
}

/**
 * The export of batch `batchId` as the gateway sent it (its text, checked as a saved file is:
 * parseJsonText), or why none could be had, with what to do.
 */
async function fetchExport(client: OpenMcpClient | undefined, batchId: number): Promise<{ value: unknown; problem?: undefined } | { problem: string }> {
  if (!client) return { problem: 'no export to check: give it with --file' };
  try {
    const { text } = await client.batches.exportFile(batchId);
    return parseJsonText(text, `the export of batch ${batchId} the gateway sent`, 'an export of one batch', 'ask again, or give the export with --file');
  } catch (err) {
    const hint = err instanceof ForbiddenApiError
      ? "; use a cross-tenant key (such as the bootstrap admin's), or give the export with --file"
      : err instanceof NotFoundApiError && err.code === 'NOT_FOUND'
        ? `; ${unknownBatchHint(batchId)}`
      : err instanceof ConnectionError
        ? '; set OPENMCP_URL to the gateway, or give the export with --file'
        : err instanceof UnauthenticatedApiError && err.keySource
          ? ` (the key sent came from ${err.keySource})`
          : '';
    const e = err as { code?: unknown; message?: unknown };
    const said = typeof e?.code === 'string' ? `${e.code}: ${String(e.message)}` : String(e?.message ?? err);
    // A URL that cannot be asked is named by its error (masked there: redactUrl leaves the password
    // of `user:pw@host`, which parses as scheme `user:`).
    const from = err instanceof BaseUrlError ? '' : ` from ${redactUrl(client.options.baseUrl).replace(/\/$/, '')}`;
    return { problem: `cannot fetch the export of batch ${batchId}${from}: ${said}${hint}` };
  }
}
