// The auditor's checks of an openmcp-proof/1 file, run in the browser. Same checks, names and
// order as `openmcp verify` (src/proofs/verify-proof.ts), re-implemented here on WebCrypto so
// nothing the gateway computed is taken on trust: only the file and the chain are read.
import { readAnchoredBatch, readNextBatchId, readReceipt, isBatchAnchoredLog, chainIdOf, verifyInclusionOnChain } from './anchor-rpc.js';
import { recoverBatchHeadSigner, signatureProblem } from './batch-signature.js';
import { envelopeProblem } from './envelope.js';
import { computeEventHash } from './event-hash.js';
import { fromHex, toHex } from './hex.js';
import { leafHash, rootFromInclusionProof } from './merkle.js';

export const PROOF_FORMAT = 'openmcp-proof/1';
// Said of a verdict whose trust anchor came from the file itself (as src/proofs/verify-proof.ts).
const UNPINNED_CONTRACT = 'named by the proof file, not pinned: anyone can deploy an AuditAnchor, enter the operator\'s address';
const UNPINNED_SIGNER = 'named by the proof file, not pinned: enter the operator\'s sealer address';

/**
 * Whether `id` is an event id as `openmcp verify --event` takes it: a UUID as src/core/ids.ts isUuid
 * (the uuid package's validate: version 1 to 8, RFC 9562 variant, or the nil or max UUID), any letter
 * case, nothing around it. An id the CLI refuses (exit 2) is refused here too, before any check.
 * @param {unknown} id @returns {boolean}
 */
export function isEventId(id) {
  return typeof id === 'string' && /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$/i.test(id);
}

export const PROOF_CHECKS = ['proof format', 'event hash', 'leaf', 'root from path', 'batch signature', 'on-chain root', 'on-chain inclusion'];

const hex32 = /^0x[0-9a-f]{64}$/;
const ADDRESS_RE = /^0x[0-9a-fA-F]{40}$/;
const isCount = (/** @type {unknown} */ n) => Number.isSafeInteger(n) && /** @type {number} */ (n) >= 0;

// The fields of the proof file, its batch head and its anchor (as src/proofs/verify-proof.ts); the event's are the envelope's.
/** @type {Record<string, string[]>} */
const PROOF_FIELDS = {
  '': ['format', 'event', 'seq', 'batch', 'index', 'treeSize', 'path', 'anchor'],
  batch: ['id', 'firstSeq', 'lastSeq', 'root', 'prevRoot', 'signer', 'signature'],
  anchor: ['chainId', 'contract', 'txHash', 'blockNumber'],
};

/** A field no check covers, as `batch.approvedBy`: a reader would take it as proven. @param {any} f @returns {string|undefined} */
function extraField(f) {
  for (const [where, known] of Object.entries(PROOF_FIELDS)) {
    const o = where ? f[where] : f;
    if (!o || typeof o !== 'object' || Array.isArray(o)) continue;
    const extra = Object.keys(o).find((k) => !known.includes(k));
    if (extra !== undefined) return where ? `${where}.${extra}` : extra;
  }
  return undefined;
}

/** @param {any} f @returns {string|undefined} */
function formatProblem(f) {
  if (!f || typeof f !== 'object' || Array.isArray(f)) return 'not a JSON object';
  if (f.format !== PROOF_FORMAT) return `format is ${f.format === undefined ? 'missing' : JSON.stringify(f.format)}, expected ${PROOF_FORMAT}`;
  const extra = extraField(f);
  if (extra !== undefined) return `unexpected field ${JSON.stringify(extra)}: the proof covers none beside those of openmcp-proof/1`;
  const bad = envelopeProblem(f.event);
  if (bad) return `event is not a recorded event envelope: ${bad}`;
  for (const k of ['seq', 'index', 'treeSize']) if (!isCount(f[k])) return `${k} is not a non-negative integer`;
  const b = f.batch;
  if (!b || ![b.id, b.firstSeq, b.lastSeq].every(isCount)) return 'batch id/firstSeq/lastSeq missing';
  if (typeof b.root !== 'string' || !hex32.test(b.root) || typeof b.prevRoot !== 'string' || !hex32.test(b.prevRoot)) return 'batch root/prevRoot are not 32-byte lowercase hex';
  if (typeof b.signer !== 'string' || !ADDRESS_RE.test(b.signer)) return 'batch signer is not an address (0x and 40 hex digits)';
  if (!Array.isArray(f.path) || !f.path.every((/** @type {unknown} */ x) => typeof x === 'string' && hex32.test(x))) return 'path is not a list of 32-byte lowercase hex';
  if (!f.anchor || !Number.isSafeInteger(f.anchor.chainId) || typeof f.anchor.contract !== 'string' || !ADDRESS_RE.test(f.anchor.contract)) return 'anchor chainId/contract missing';
  // Not evidence (docs/proofs.md section 7), but where to look: present and well-formed, as the gateway writes them.
  if (typeof f.anchor.txHash !== 'string' || !hex32.test(f.anchor.txHash) || !isCount(f.anchor.blockNumber)) {
    return 'anchor txHash/blockNumber missing: a 32-byte lowercase hex hash and a block number';
  }
  return undefined;
}

/**
 * @typedef {{ name: string, ok: boolean, detail: string }} CheckResult
 * @typedef {{ rpcUrl: string, contract?: string, signer?: string, event?: string, fetch?: typeof fetch, onCheck?: (r: CheckResult) => void }} VerifyOptions
 */

/**
 * Run every check on a proof file; each is reported (a failed one names what differs), and a
 * check whose input failed earlier still runs on what the file says, so each failure is its own.
 * `contract` and `signer` default to the file's: pass the addresses you trust. `event`, the id of
 * the event the proof must be of (any letter case; `openmcp verify --event`): without it, a proof
 * of any event can pass.
 * @param {unknown} proof @param {VerifyOptions} opts @returns {Promise<CheckResult[]>}
 */
export async function verifyProofInBrowser(proof, opts) {
  const fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
  /** @type {CheckResult[]} */
  const results = [];
  const add = (/** @type {string} */ name, /** @type {boolean} */ ok, /** @type {string} */ detail) => {
    const r = { name, ok, detail };
    results.push(r);
    opts.onCheck?.(r);
  };

  const problem = formatProblem(proof);
  if (problem) {
    add('proof format', false, problem);
    for (const name of PROOF_CHECKS.slice(1)) add(name, false, 'not checked: the file is not a valid proof');
    return results;
  }
  const p = /** @type {any} */ (proof);
  const event = p.event;
  // Which event is proven: a proof of another event passes every check too (the server's twin: src/proofs/verify-proof.ts).
  // id, type and stream have fixed shapes; the tenant is any text, quoted unless a plain name (letters, digits, . _ -), or it could read as more of the line.
  const tenant = /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(event.tenant) ? event.tenant : JSON.stringify(event.tenant);
  const proves = `${PROOF_FORMAT}, event ${event.id} (${event.type}) of stream ${event.stream}, tenant ${tenant}`;
  // A proof of another event is well-formed and passes the rest: it fails here, where the event is named, and the rest still run.
  const otherEvent = opts.event !== undefined && opts.event.toLowerCase() !== String(event.id).toLowerCase();
  add('proof format', !otherEvent, otherEvent ? `${proves}: not event ${opts.event}, the one asked for` : proves);

  const computed = await computeEventHash(event).catch((/** @type {Error} */ err) => `error: ${err.message}`);
  add('event hash', computed === event.hash, computed === event.hash ? computed : `envelope hashes to ${computed}, file says ${event.hash}`);

  const size = p.batch.lastSeq - p.batch.firstSeq + 1;
  const leaf = await leafHash(p.seq, event.hash);
  const leafProblems = [
    p.seq !== p.batch.firstSeq + p.index && `seq ${p.seq} is not firstSeq ${p.batch.firstSeq} + index ${p.index}`,
    p.treeSize !== size && `treeSize ${p.treeSize} is not lastSeq - firstSeq + 1 = ${size}`,
    p.index >= p.treeSize && `index ${p.index} is outside the tree`,
  ].filter(Boolean);
  add('leaf', leafProblems.length === 0, leafProblems.length ? leafProblems.join('; ') : `seq ${p.seq} → ${toHex(leaf)}`);

  try {
    const root = toHex(await rootFromInclusionProof(p.index, p.treeSize, leaf, p.path.map((/** @type {string} */ x) => fromHex(x, 32))));
    add('root from path', root === p.batch.root, root === p.batch.root ? root : `path gives ${root}, batch root is ${p.batch.root}`);
  } catch (err) {
    add('root from path', false, /** @type {Error} */ (err).message);
  }

  const head = { batchId: p.batch.id, firstSeq: p.batch.firstSeq, lastSeq: p.batch.lastSeq, root: p.batch.root, prevRoot: p.batch.prevRoot };
  const sigProblem = signatureProblem(p.batch.signature);
  const signer = await recoverBatchHeadSigner(head, p.batch.signature);
  const named = String(p.batch.signer).toLowerCase();
  const pinned = opts.signer ? opts.signer.toLowerCase() : undefined;
  const sigOk = !!signer && signer === named && (pinned === undefined || signer === pinned);
  add(
    'batch signature',
    sigOk,
    sigOk
      ? `signed by ${signer} (recovered in this browser; ${pinned ? 'the sealer you entered' : UNPINNED_SIGNER})`
      : sigProblem
        ? `the signature ${sigProblem}`
        : signer && signer === named && pinned
          ? `signed by ${signer}, not by the sealer you entered, ${pinned}`
          : `recovers ${signer ?? 'nothing'}, file names ${p.batch.signer}`,
  );

  const address = opts.contract || p.anchor.contract;
  const whose = opts.contract ? address : `${address} (${UNPINNED_CONTRACT})`;
  // The entered contract is the one read, but a file whose anchor names another is not what was anchored there.
  const otherContract =
    opts.contract && opts.contract.toLowerCase() !== p.anchor.contract.toLowerCase()
      ? `the proof names AuditAnchor ${p.anchor.contract}, not the one you entered, ${opts.contract}`
      : undefined;
  /** @param {boolean} ok @param {string} detail */
  const addRoot = (ok, detail) => add('on-chain root', ok && !otherContract, otherContract ? `${otherContract}; ${detail}` : detail);
  try {
    const chainId = await chainIdOf(fetchFn, opts.rpcUrl);
    if (chainId !== p.anchor.chainId) {
      addRoot(false, `RPC serves chain ${chainId}, the proof was anchored on chain ${p.anchor.chainId}`);
    } else {
      const next = await readNextBatchId(fetchFn, opts.rpcUrl, address);
      if (p.batch.id >= next) {
        addRoot(false, `batch ${p.batch.id} is not anchored on ${whose}: it holds ${next ? `batches 0..${next - 1}` : 'no batch yet'}`);
      } else {
        const b = await readAnchoredBatch(fetchFn, opts.rpcUrl, address, p.batch.id);
        const ok = b.root === p.batch.root && b.firstSeq === p.batch.firstSeq && b.lastSeq === p.batch.lastSeq;
        if (ok && !otherContract) {
          // The root is there: is the file's transaction what put it there? (as src/proofs/anchor-transaction.ts)
          const tx = await anchorTransaction(fetchFn, opts.rpcUrl, address, p);
          addRoot(tx.ok, `${whose} batch ${p.batch.id} = ${b.root}; ${tx.detail}`);
        } else {
          addRoot(
            ok,
            ok
              ? `${whose} batch ${p.batch.id} = ${b.root}`
              : `${whose} batch ${p.batch.id} has root ${b.root} for seqs ${b.firstSeq}..${b.lastSeq}, the proof says root ${p.batch.root} for seqs ${p.batch.firstSeq}..${p.batch.lastSeq}`,
          );
        }
      }
    }
    const included = await verifyInclusionOnChain(fetchFn, opts.rpcUrl, address, p.batch.id, p.index, leaf, p.path);
    add('on-chain inclusion', included, included ? 'AuditAnchor.verifyInclusion returned true' : 'AuditAnchor.verifyInclusion returned false');
  } catch (err) {
    const msg = `cannot read batch ${p.batch.id} from ${address} at ${opts.rpcUrl}: ${String(/** @type {Error} */ (err).message).slice(0, 200)}`;
    if (!results.some((r) => r.name === 'on-chain root')) addRoot(false, msg);
    add('on-chain inclusion', false, msg);
  }
  return results;
}

/**
 * The file's anchor transaction against the chain, once its root is found there (the same verdicts
 * and words as src/proofs/anchor-transaction.ts): fails only for a transaction mined and successful
 * that did not anchor this batch and root on `address` (the file's account of its anchor is false);
 * one not on the chain, reverted or in another block is noted (a reorg explains it), not failed.
 * @param {typeof fetch} fetchFn @param {string} rpcUrl @param {string} address @param {any} p
 * @returns {Promise<{ ok: boolean, detail: string }>}
 */
async function anchorTransaction(fetchFn, rpcUrl, address, p) {
  const { txHash, blockNumber } = p.anchor;
  const id = p.batch.id;
  const counts = `the root batch(${id}) returns is what counts`;
  /** @type {Awaited<ReturnType<typeof readReceipt>>} */
  let receipt;
  try {
    receipt = await readReceipt(fetchFn, rpcUrl, txHash);
  } catch (err) {
    return { ok: true, detail: `transaction ${txHash} could not be read (${String(/** @type {Error} */ (err).message).slice(0, 200)}): ${counts}` };
  }
  if (!receipt) {
    return { ok: true, detail: `transaction ${txHash} is not on this chain (lost in a reorg and batch ${id} anchored again by another, which GET /v1/batches/${id} names; or a node that keeps no index of old transactions): ${counts}` };
  }
  if (receipt.status !== 1) return { ok: true, detail: `transaction ${txHash} reverted in block ${receipt.blockNumber} (after a reorg, batch ${id} anchored by another first): ${counts}` };
  if (!receipt.logs.some((l) => isBatchAnchoredLog(l, address, p.batch))) {
    return { ok: false, detail: `transaction ${txHash} in block ${receipt.blockNumber} anchored no batch ${id} of this root on ${address}: the file's account of its anchor is false` };
  }
  if (receipt.blockNumber !== blockNumber) {
    return { ok: true, detail: `transaction ${txHash} anchored batch ${id} in block ${receipt.blockNumber}, not in block ${blockNumber} as the file says (a reorg moved it; GET /v1/batches/${id} names its block now): ${counts}` };
  }
  return { ok: true, detail: `anchored by transaction ${txHash} in block ${blockNumber}` };
}
