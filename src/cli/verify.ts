import { verifyProofFile } from '../proofs/verify-proof';
import { apiProblemIn } from './api-problem';
import { pinnedAddressProblem, rpcUrlProblem } from './pinned-address';
import { printChecks, type Writer } from './print-checks';
import { printable } from './printable';
import { readJsonFile } from './read-json-file';
import { isUuid } from '../core/ids';

export const DEFAULT_RPC_URL = 'http://127.0.0.1:8545';

export type RunVerifyOptions = {
  /** Path to an openmcp-proof/1 JSON file. */
  file: string;
  rpc?: string;
  /** AuditAnchor address to trust; defaults to the one in the file. */
  contract?: string;
  /** The sealer address to trust; defaults to the one in the file. */
  signer?: string;
  /** The id of the event the proof must be of (`--event`); without it, a proof of any event can pass. */
  event?: string;
  out?: Writer;
};

/**
 * `openmcp verify <proof.json> [--rpc URL] [--contract ADDR] [--signer ADDR] [--event ID]`: prints every check and returns
 * the exit code: 0 only if all pass, 1 naming the first failed check, 2 if the file is unreadable,
 * names a key twice in one object, or a pinned address, the RPC URL or the `--event` id is malformed.
 */
export async function runVerify(o: RunVerifyOptions): Promise<number> {
  // Every line may quote the file, the operator's text: its control characters are printed as escapes.
  const write = o.out ?? ((l: string) => console.log(l));
  const out = (l: string) => write(printable(l));
  const pin = pinnedAddressProblem('--contract (or ANCHOR_CONTRACT)', o.contract) ?? pinnedAddressProblem('--signer', o.signer) ?? rpcUrlProblem(o.rpc) ?? eventIdProblem(o.event);
  if (pin) {
    out(`FAILED: ${pin}`);
    return 2;
  }
  const read = await readJsonFile(o.file, {
    what: 'a proof of one event',
    // One event (at most MAX_EVENT_BYTES, 4 MiB, as JSON) with a path of at most 64 hashes, with room for pretty-printing.
    maxBytes: 64 * 1024 * 1024,
    tooLarge: 'more than a proof file can be (one event of at most 4 MiB, and its path): not a proof of one event',
  });
  if (read.problem !== undefined) {
    out(`FAILED: ${read.problem}`);
    return 2;
  }
  const proof = read.value;
  // The API's error answer saved in place of a proof (e.g. 409 PROOF_PENDING before the batch is anchored).
  const problem = apiProblemIn(proof);
  if (problem) {
    out(`FAILED: ${o.file} is an error answer from the API, not a proof: ${problem}`);
    return 2;
  }
  const results = await verifyProofFile(proof, { rpcUrl: o.rpc ?? DEFAULT_RPC_URL, contract: o.contract, signer: o.signer, event: o.event });
  // A file that brings its own contract and key proves only that it is consistent with itself.
  const warnings = results.flatMap((r) => (r.warning ? [r.warning] : []));
  if (!o.contract) warnings.push('the AuditAnchor address was taken from the proof file; a forger can deploy their own. Pass --contract (or set ANCHOR_CONTRACT) to the address the operator publishes.');
  return printChecks(results, out, o.file, warnings);
}

/** An `--event` no event can have (ids are UUIDs) would fail every proof as "another event": refused before any check, exit 2. */
function eventIdProblem(id: string | undefined): string | undefined {
  if (id === undefined || isUuid(id)) return undefined;
  return `--event ${id} is not an event id (a UUID, as GET /v1/events/:id takes)`;
}
