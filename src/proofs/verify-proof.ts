import { RecordedEventSchema, computeEventHash, type RecordedEvent } from '../core/envelope';
import { fromHex, isHex32, toHex } from '../core/hex';
import { isHexAddress } from '../core/address';
import { auditAnchorAt } from '../web3/audit-anchor';
import { checkAnchorTransaction } from './anchor-transaction';
import { createRpcProvider } from '../web3/provider';
import { checkBatchSignature, unpinnedSigner } from './check-batch-signature';
import { leafHash, rootFromInclusionProof } from './merkle';
import { PROOF_FORMAT, type ProofFile } from './proof-file';
import { chainReadProblem } from './rpc-unreachable';

/** `warning`: passed, but with something an auditor should know (printed as a WARNING line). */
export type CheckResult = { name: string; ok: boolean; detail: string; warning?: string };

export type VerifyProofOptions = {
  rpcUrl: string;
  /** Defaults to proof.anchor.contract. Pass the address you trust, not the one in the file. */
  contract?: string;
  /** The sealer's address you trust; without it, the signature is only checked against the file's `batch.signer`. */
  signer?: string;
};

/**
 * Said of every verdict whose trust anchor came from the file itself: anyone can deploy an
 * AuditAnchor and sign with their own key, so such a proof shows consistency, not origin.
 */
export const UNPINNED_CONTRACT = 'named by the proof file, not pinned: anyone can deploy an AuditAnchor, pass --contract <the operator\'s address>';
export const UNPINNED_SIGNER = unpinnedSigner('proof file');

/** The named checks, in the order they run and are printed. */
export const PROOF_CHECKS = ['proof format', 'event hash', 'leaf', 'root from path', 'batch signature', 'on-chain root', 'on-chain inclusion'] as const;

/**
 * The first schema issue of the envelope, as `field: message` (the browser verifier names the same field);
 * undefined for a recorded envelope with no field beside those DESIGN.md lists.
 */
export function envelopeProblem(event: unknown): string | undefined {
  const r = RecordedEventSchema.safeParse(event);
  if (r.success) return undefined;
  const issue = r.error.issues[0];
  if (issue.code === 'unrecognized_keys') return `unexpected field ${JSON.stringify(issue.keys[0])}`;
  return `field ${String(issue.path[0] ?? '')} is missing or malformed`;
}

/** The fields of the proof file, its batch head and its anchor (DESIGN.md "Proof file"); the event's are the envelope's. */
const PROOF_FIELDS = {
  '': ['format', 'event', 'seq', 'batch', 'index', 'treeSize', 'path', 'anchor'],
  batch: ['id', 'firstSeq', 'lastSeq', 'root', 'prevRoot', 'signer', 'signature'],
  anchor: ['chainId', 'contract', 'txHash', 'blockNumber'],
} as const;

/**
 * A field no check covers, as `batch.approvedBy`: beside the signed head or the anchor a reader
 * would take it as proven, as beside the event (browser twin: ui/app/verify/verify-proof.js).
 */
function extraField(f: Record<string, unknown>): string | undefined {
  for (const [where, known] of Object.entries(PROOF_FIELDS)) {
    const o = where ? f[where] : f;
    if (!o || typeof o !== 'object' || Array.isArray(o)) continue;
    const extra = Object.keys(o).find((k) => !(known as readonly string[]).includes(k));
    if (extra !== undefined) return where ? `${where}.${extra}` : extra;
  }
  return undefined;
}

function formatProblem(p: unknown): string | undefined {
  const f = p as ProofFile;
  if (!f || typeof f !== 'object' || Array.isArray(f)) return 'not a JSON object';
  if (f.format !== PROOF_FORMAT) return `format is ${f.format === undefined ? 'missing' : JSON.stringify(f.format)}, expected ${PROOF_FORMAT}`;
  const extra = extraField(f as unknown as Record<string, unknown>);
  if (extra !== undefined) return `unexpected field ${JSON.stringify(extra)}: the proof covers none beside those of openmcp-proof/1`;
  if (!f.event || typeof f.event !== 'object' || Array.isArray(f.event)) return 'event is not a recorded event envelope: not an object';
  const bad = envelopeProblem(f.event);
  if (bad) return `event is not a recorded event envelope: ${bad}`;
  for (const k of ['seq', 'index', 'treeSize'] as const) if (!Number.isSafeInteger(f[k]) || f[k] < 0) return `${k} is not a non-negative integer`;
  const b = f.batch;
  if (!b || ![b.id, b.firstSeq, b.lastSeq].every((n) => Number.isSafeInteger(n) && n >= 0)) return 'batch id/firstSeq/lastSeq missing';
  if (!isHex32(b.root) || !isHex32(b.prevRoot)) return 'batch root/prevRoot are not 32-byte lowercase hex';
  if (!isHexAddress(b.signer)) return 'batch signer is not an address (0x and 40 hex digits)';
  if (!Array.isArray(f.path) || !f.path.every(isHex32)) return 'path is not a list of 32-byte lowercase hex';
  if (!f.anchor || !Number.isSafeInteger(f.anchor.chainId) || !isHexAddress(f.anchor.contract)) return 'anchor chainId/contract missing';
  // Not evidence (section 7 of docs/proofs.md), but where to look: present and well-formed, as the gateway writes them.
  if (!isHex32(f.anchor.txHash) || !Number.isSafeInteger(f.anchor.blockNumber) || f.anchor.blockNumber < 0) {
    return 'anchor txHash/blockNumber missing: a 32-byte lowercase hex hash and a block number';
  }
  return undefined;
}

/**
 * Check a proof file with nothing but the file and a chain RPC URL: recompute the event hash,
 * the leaf, the root from the path; check the batch signature; read the anchored root and run
 * the contract's own verifyInclusion. Every check is reported; a check whose input failed an
 * earlier check still runs on what the file says, so each reported failure is its own.
 */
export async function verifyProofFile(proof: unknown, opts: VerifyProofOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const add = (name: (typeof PROOF_CHECKS)[number], ok: boolean, detail: string, warning?: string) => results.push({ name, ok, detail, ...(warning ? { warning } : {}) });

  const problem = formatProblem(proof);
  if (problem) {
    add('proof format', false, problem);
    for (const name of PROOF_CHECKS.slice(1)) add(name, false, 'not checked: the file is not a valid proof');
    return results;
  }
  const p = proof as ProofFile;
  const event = p.event as RecordedEvent;
  // Which event is proven: a proof of another event passes every check too (browser twin: ui/app/verify/verify-proof.js).
  // id, type and stream have fixed shapes; the tenant is any text, quoted unless a plain name (letters, digits, . _ -), or it could read as more of the line.
  const tenant = /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(event.tenant) ? event.tenant : JSON.stringify(event.tenant);
  add('proof format', true, `${PROOF_FORMAT}, event ${event.id} (${event.type}) of stream ${event.stream}, tenant ${tenant}`);

  // A value with no canonical form (a float, an unsafe integer) cannot be what was hashed.
  let computedHash: string;
  try {
    computedHash = computeEventHash(event);
  } catch (err) {
    computedHash = `error: ${(err as Error).message}`;
  }
  add('event hash', computedHash === event.hash, computedHash === event.hash ? computedHash : `envelope hashes to ${computedHash}, file says ${event.hash}`);

  const size = p.batch.lastSeq - p.batch.firstSeq + 1;
  const leaf = leafHash(p.seq, event.hash);
  const leafProblems = [
    p.seq !== p.batch.firstSeq + p.index && `seq ${p.seq} is not firstSeq ${p.batch.firstSeq} + index ${p.index}`,
    p.treeSize !== size && `treeSize ${p.treeSize} is not lastSeq - firstSeq + 1 = ${size}`,
    p.index >= p.treeSize && `index ${p.index} is outside the tree`,
  ].filter(Boolean);
  add('leaf', leafProblems.length === 0, leafProblems.length ? leafProblems.join('; ') : `seq ${p.seq} → ${toHex(leaf)}`);

  let computedRoot: string | undefined;
  try {
    computedRoot = toHex(rootFromInclusionProof(p.index, p.treeSize, leaf, p.path.map((x) => fromHex(x, 32))));
    add('root from path', computedRoot === p.batch.root, computedRoot === p.batch.root ? computedRoot : `path gives ${computedRoot}, batch root is ${p.batch.root}`);
  } catch (err) {
    add('root from path', false, (err as Error).message);
  }

  const sig = checkBatchSignature(p.batch, opts.signer, 'proof file');
  add('batch signature', sig.ok, sig.detail);

  const address = opts.contract ?? p.anchor.contract;
  const whose = opts.contract ? address : `${address} (${UNPINNED_CONTRACT})`;
  // The pinned contract is the one read, but a file whose anchor names another is not what was anchored there.
  const otherContract =
    opts.contract && opts.contract.toLowerCase() !== p.anchor.contract.toLowerCase()
      ? `the proof names AuditAnchor ${p.anchor.contract}, not the one you pinned, ${opts.contract}`
      : undefined;
  const addRoot = (ok: boolean, detail: string, warning?: string) => add('on-chain root', ok && !otherContract, otherContract ? `${otherContract}; ${detail}` : detail, warning);
  const provider = createRpcProvider(opts.rpcUrl);
  try {
    const network = await provider.getNetwork();
    const contract = auditAnchorAt(address, provider);
    if (Number(network.chainId) !== p.anchor.chainId) {
      addRoot(false, `RPC serves chain ${network.chainId}, the proof was anchored on chain ${p.anchor.chainId}`);
    } else {
      // Without this, an address with no contract reads as ethers' "could not decode result data (value="0x")".
      if ((await provider.getCode(address)) === '0x') throw new Error(`no contract at that address on chain ${network.chainId}`);
      const next = Number(await contract.nextBatchId());
      if (p.batch.id >= next) {
        addRoot(false, `batch ${p.batch.id} is not anchored on ${whose}: it holds ${next ? `batches 0..${next - 1}` : 'no batch yet'}`);
      } else {
        const [root, firstSeq, lastSeq] = (await contract.batch(p.batch.id)) as [string, bigint, bigint, bigint];
        const ok = root === p.batch.root && Number(firstSeq) === p.batch.firstSeq && Number(lastSeq) === p.batch.lastSeq;
        if (ok && !otherContract) {
          // The root is there: is the file's transaction what put it there?
          const tx = await checkAnchorTransaction(provider, contract, address, p, opts.rpcUrl);
          addRoot(tx.ok, `${whose} batch ${p.batch.id} = ${root}; ${tx.detail}`, tx.warning);
        } else {
          addRoot(
            ok,
            ok
              ? `${whose} batch ${p.batch.id} = ${root}`
              : `${whose} batch ${p.batch.id} has root ${root} for seqs ${firstSeq}..${lastSeq}, the proof says root ${p.batch.root} for seqs ${p.batch.firstSeq}..${p.batch.lastSeq}`,
          );
        }
      }
    }
    const included = (await contract.verifyInclusion(p.batch.id, p.index, toHex(leaf), p.path)) as boolean;
    add('on-chain inclusion', included, included ? 'AuditAnchor.verifyInclusion returned true' : 'AuditAnchor.verifyInclusion returned false');
  } catch (err) {
    const msg = `cannot read batch ${p.batch.id} from ${address}: ${chainReadProblem(err, opts.rpcUrl, p.anchor.chainId)}`;
    if (!results.some((r) => r.name === 'on-chain root')) addRoot(false, msg);
    add('on-chain inclusion', false, msg);
  } finally {
    provider.destroy();
  }
  return results;
}
