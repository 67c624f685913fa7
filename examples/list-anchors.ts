/**
 * The batches an AuditAnchor holds, read from the chain alone (docs/proofs.md, "Nothing left out: a
 * range of seqs, a task's whole trail"): it imports nothing of this project, only `ethers` (v6), so
 * it can be copied out with examples/independent-verify.ts.
 *
 *   npx tsx examples/list-anchors.ts --rpc http://127.0.0.1:8545 --contract 0x… [--concurrency 8]
 *
 * It reads `--concurrency` batches at a time (default 8; ethers sends the calls made together as one
 * JSON-RPC batch request), not one round trip after another: 1 for an RPC that refuses batch
 * requests (then none is sent).
 *
 * Prints one line per batch (its id, seqs, root and when it was anchored) and, last, the seqs they
 * cover; exits 0 only if the ranges run from seq 0 with no gap and no overlap, which AuditAnchor
 * itself enforces (a contract whose answers do not is not one), 1 otherwise, 2 for a usage error.
 */
import { Contract, isHexString, JsonRpcProvider } from 'ethers';

/** §5: the two views this needs, as ethers human-readable ABI. */
const AUDIT_ANCHOR_ABI = [
  'function nextBatchId() view returns (uint64)',
  'function batch(uint64 batchId) view returns (bytes32 root, uint64 firstSeq, uint64 lastSeq, uint64 anchoredAt)',
];

/** One batch as the contract holds it; `anchoredAt` is its block's time. */
export type Anchor = { id: number; firstSeq: number; lastSeq: number; root: string; anchoredAt: string };

/** How many `batch(id)` reads may be in flight at once: at most this many per JSON-RPC batch request. */
export const DEFAULT_CONCURRENCY = 8;

export type ListAnchorsOptions = { concurrency?: number };

/**
 * Every batch `contract` holds, in id order: `batch(id)` for each id below `nextBatchId()`, read
 * `concurrency` at a time (requires a whole number from 1; default DEFAULT_CONCURRENCY).
 * With concurrency 1 no JSON-RPC batch request is sent at all (an RPC may refuse them).
 * Throws `no contract at 0x… on chain N` for an address with no code (every view would answer nothing),
 * and `reading batch(<id>): …` for the first read that fails (no partial list).
 * @example const anchors = await listAnchors('http://127.0.0.1:8545', '0x5fbdb2315678afecb367f032d93f642f64180aa3', { concurrency: 4 });
 */
export async function listAnchors(rpc: string, contract: string, { concurrency = DEFAULT_CONCURRENCY }: ListAnchorsOptions = {}): Promise<Anchor[]> {
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a whole number from 1, not ${concurrency}`);
  const provider = rpcProvider(rpc, concurrency);
  try {
    if ((await provider.getCode(contract)) === '0x') throw new Error(`no contract at ${contract.toLowerCase()} on chain ${(await provider.getNetwork()).chainId}`);
    const anchor = new Contract(contract, AUDIT_ANCHOR_ABI, provider);
    const count = Number(await anchor.nextBatchId());
    const out: Anchor[] = new Array(count);
    // `concurrency` workers take the next id in turn; each answer goes to its id's place, so the
    // list is in id order whatever order they come back in. After a failure no new read starts.
    let nextId = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && nextId < count) {
        const id = nextId++;
        try {
          const [root, firstSeq, lastSeq, anchoredAt] = await anchor.batch(id);
          out[id] = { id, firstSeq: Number(firstSeq), lastSeq: Number(lastSeq), root, anchoredAt: new Date(Number(anchoredAt) * 1000).toISOString() };
        } catch (err) {
          failed = true;
          throw Object.assign(new Error(`reading batch(${id}): ${errorText(err)}`, { cause: err }), { code: (err as { code?: unknown }).code });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
    return out;
  } finally {
    provider.destroy();
  }
}

/**
 * ethers batches the calls made together into one JSON-RPC batch request; `batchMaxCount: 1` sends
 * each alone (and at once), for `concurrency` 1 and an RPC that refuses batch requests.
 */
function rpcProvider(rpc: string, concurrency: number): JsonRpcProvider {
  return new JsonRpcProvider(rpc, undefined, concurrency === 1 ? { batchMaxCount: 1 } : {});
}

/** ethers' short message, with the RPC's own words when it has them (a CALL_EXCEPTION says only "missing revert data"). */
function errorText(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string; info?: { error?: { message?: unknown } } };
  const text = e.shortMessage ?? e.message ?? String(err);
  const rpcSaid = e.info?.error?.message;
  return typeof rpcSaid === 'string' && !text.includes(rpcSaid) ? `${text} (the RPC said: ${rpcSaid})` : text;
}

/**
 * The first batch whose range does not start right after the one before (batch 0 at seq 0), or
 * ends before it starts (the next one's start would be checked against it, missing an overlap);
 * undefined if none. Ranges are inclusive, [firstSeq, lastSeq].
 */
export function contiguityProblem(anchors: Anchor[]): string | undefined {
  let next = 0;
  for (const a of anchors) {
    if (a.lastSeq < a.firstSeq) return `batch ${a.id} ends at seq ${a.lastSeq}, before its first seq ${a.firstSeq}: no AuditAnchor holds such a range`;
    if (a.firstSeq !== next) {
      // An overlap is the seqs of this batch that the ones before hold too: up to next - 1, or its own last.
      const [lo, hi, what] = a.firstSeq > next ? [next, a.firstSeq - 1, 'in no batch'] : [a.firstSeq, Math.min(next - 1, a.lastSeq), 'in two batches'];
      return `batch ${a.id} starts at seq ${a.firstSeq}, not ${next}: seqs ${lo}..${hi} are ${what}`;
    }
    next = a.lastSeq + 1;
  }
  return undefined;
}

async function main(args: string[]): Promise<number> {
  const option = (name: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
  const [rpc, contract, many] = [option('rpc'), option('contract'), option('concurrency')];
  if (!rpc || !contract) {
    console.error('usage: list-anchors.ts --rpc URL --contract 0x…  [--concurrency N]  (the AuditAnchor address the operator publishes)');
    return 2;
  }
  const concurrency = !args.includes('--concurrency') ? DEFAULT_CONCURRENCY : many !== undefined && /^[1-9]\d*$/.test(many) ? Number(many) : NaN;
  if (!Number.isSafeInteger(concurrency)) {
    console.error(`--concurrency takes how many batch(id) reads may be in flight at once (a whole number from 1), not ${many ?? 'nothing'}`);
    return 2;
  }
  // ethers would take anything else for an ENS name and say only that the chain has no ENS.
  if (!isHexString(contract, 20)) {
    console.error(`--contract takes the AuditAnchor's address (0x and 40 hex digits), not ${contract}`);
    return 2;
  }
  let anchors: Anchor[];
  try {
    anchors = await listAnchors(rpc, contract, { concurrency });
  } catch (err) {
    // An RPC that takes no batch request answers one with a lone error (ethers: "missing response
    // for request", BAD_DATA) or an HTTP error (SERVER_ERROR): at concurrency 1 none is sent.
    const code = (err as { code?: unknown }).code;
    if (concurrency > 1 && (code === 'BAD_DATA' || code === 'SERVER_ERROR')) throw new Error(`${errorText(err)}; an RPC that refuses JSON-RPC batch requests fails so: try --concurrency 1`);
    throw err;
  }
  const provider = rpcProvider(rpc, concurrency);
  const chainId = (await provider.getNetwork()).chainId;
  provider.destroy();
  const where = `${contract.toLowerCase()} (chain ${chainId})`;
  if (anchors.length === 0) {
    console.log(`no batch anchored on ${where} yet`);
    return 0;
  }
  for (const a of anchors) console.log(`batch ${a.id}: seqs ${a.firstSeq}..${a.lastSeq}, root ${a.root}, anchored ${a.anchoredAt}`);
  const problem = contiguityProblem(anchors);
  if (problem) {
    console.log(`✘ ${problem}`);
    return 1;
  }
  const last = anchors[anchors.length - 1];
  console.log(`batches 0..${last.id} on ${where} cover seqs 0..${last.lastSeq} without a gap`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`error: ${errorText(err)}`);
      process.exit(1);
    },
  );
}
