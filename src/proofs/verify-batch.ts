import { verifyEventHash, type RecordedEvent } from '../core/envelope';
import { isHex32, toHex } from '../core/hex';
import { auditAnchorAt } from '../web3/audit-anchor';
import { createRpcProvider } from '../web3/provider';
import { checkBatchSignature, type SignedBatchHead } from './check-batch-signature';
import { buildTree } from './merkle';
import { batchLeaves } from './seal-batch';
import { envelopeProblem, type CheckResult } from './verify-proof';
import { chainReadProblem } from './rpc-unreachable';

export type VerifyBatchParameters = {
  batchId: number;
  /** The batch's events in seq order (GET /v1/batches/:id/events → events). */
  events: RecordedEvent[];
  rpcUrl: string;
  contract: string;
  /**
   * The export's batch head (its `batch`, as read from the file: unchecked JSON); absent for a bare
   * list of events, which then fails "batch signature". Its signature is checked; what it claims
   * must agree with the chain: the chain it was anchored on (anchor.chainId, against the RPC's), the
   * contract (anchor.contract, against `contract`) and the root.
   */
  head?: SignedBatchHead & { anchor?: { chainId?: unknown; contract?: unknown } | null };
  /** The sealer's address you trust; without it, the signature is only checked against the head's `signer`. */
  signer?: string;
};

/**
 * Re-derive a batch root from its exported events and compare it with the anchored root, and check
 * the export's batch head signature as `openmcp verify` does (checkBatchSignature). The
 * seq range comes from the chain, not from the export, so a dropped, added or reordered event
 * shows up as a count or root mismatch. An RPC serving another chain than `chainId`, or a batch
 * the contract does not hold yet, is named as such: either would otherwise read as a root that
 * differs (or a raw revert), which looks like tampering.
 */
export async function verifyBatchExport(p: VerifyBatchParameters): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  // An event whose hash cannot be recomputed (a float in it, a malformed hash) is simply a bad one.
  const hashOk = (e: RecordedEvent) => {
    try {
      return isHex32(e?.hash) && verifyEventHash(e);
    } catch {
      return false;
    }
  };
  const bad = p.events.filter((e) => !hashOk(e));
  // Named by its id, or, when it is no envelope to take one from, by its place and what it lacks.
  const firstBad = (() => {
    const i = p.events.findIndex((e) => !hashOk(e));
    const e = p.events[i];
    const problem = !e || typeof e !== 'object' || Array.isArray(e) ? 'not an object' : envelopeProblem(e);
    return problem ? `events[${i}]: ${problem}` : e.id;
  })();
  // As in a proof file: a field the hash does not cover must not ride along in an export that passes.
  const notEnvelopes = p.events.flatMap((e) => {
    const problem = e && typeof e === 'object' && hashOk(e) ? envelopeProblem(e) : undefined;
    return problem ? [{ id: e.id, problem }] : [];
  });
  results.push({
    name: 'event hashes',
    ok: bad.length === 0 && notEnvelopes.length === 0,
    detail: bad.length
      ? `${bad.length} event(s) do not match their hash, first ${firstBad}`
      : notEnvelopes.length
        ? `${notEnvelopes.length} event(s) are not a recorded event envelope, first ${notEnvelopes[0].id}: ${notEnvelopes[0].problem}`
        : `${p.events.length} events`,
  });
  // Before the chain is read, so a head signed by another key is named even when the chain cannot be.
  const sig = p.head
    ? checkBatchSignature(p.head, p.signer, 'export')
    : { ok: false, detail: 'not checked: the export has no batch head (its "batch"); verify the whole answer of GET /v1/batches/:id/events, not its events alone' };
  results.push({ name: 'batch signature', ...sig });
  const claimed = {
    chainId: Number.isSafeInteger(p.head?.anchor?.chainId) ? (p.head!.anchor!.chainId as number) : undefined,
    contract: typeof p.head?.anchor?.contract === 'string' ? p.head.anchor.contract : undefined,
    root: typeof p.head?.root === 'string' ? p.head.root : undefined,
  };
  const provider = createRpcProvider(p.rpcUrl);
  try {
    const chainId = Number((await provider.getNetwork()).chainId);
    if (claimed.chainId !== undefined && chainId !== claimed.chainId) {
      results.push({ name: 'root', ok: false, detail: `RPC serves chain ${chainId}, the export's batch was anchored on chain ${claimed.chainId}` });
      return results;
    }
    // Without this, an address with no contract reads as ethers' "could not decode result data (value="0x")".
    if ((await provider.getCode(p.contract)) === '0x') throw new Error(`no contract at that address on chain ${chainId}`);
    const contract = auditAnchorAt(p.contract, provider);
    const next = Number(await contract.nextBatchId());
    if (p.batchId >= next) {
      results.push({ name: 'root', ok: false, detail: `batch ${p.batchId} is not anchored on ${p.contract}: it holds ${next ? `batches 0..${next - 1}` : 'no batch yet'}` });
      return results;
    }
    const [root, firstSeq, lastSeq] = (await contract.batch(p.batchId)) as [string, bigint, bigint, bigint];
    const size = Number(lastSeq - firstSeq) + 1;
    results.push({
      name: 'event count',
      ok: p.events.length === size,
      detail: `chain says seqs ${firstSeq}..${lastSeq} (${size} events), export has ${p.events.length}`,
    });
    const derived = !p.events.every((e) => isHex32(e?.hash)) ? 'none (not every event has a 32-byte hash)' : p.events.length ? toHex(buildTree(batchLeaves(Number(firstSeq), p.events)).root) : 'none (no events)';
    // The events are what is proven, but an export whose head says otherwise is not the operator's export of them.
    const claims = [
      claimed.contract !== undefined && claimed.contract.toLowerCase() !== p.contract.toLowerCase() && `the export names AuditAnchor ${claimed.contract}, not the one you pinned, ${p.contract}`,
      claimed.root !== undefined && claimed.root !== root && `the export's batch head says root ${claimed.root}, the chain has ${root}`,
    ].filter((x): x is string => !!x);
    const rootDetail = derived === root ? (claims.length ? `the events give the chain's root ${root}` : root) : `events give ${derived}, chain has ${root}`;
    results.push({ name: 'root', ok: derived === root && claims.length === 0, detail: [...claims, rootDetail].join('; ') });
  } catch (err) {
    results.push({ name: 'root', ok: false, detail: `cannot read batch ${p.batchId} from ${p.contract}: ${chainReadProblem(err, p.rpcUrl)}` });
  } finally {
    provider.destroy();
  }
  return results;
}
