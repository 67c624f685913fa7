/**
 * An auditor's own check of an openmcp-proof/1 file, written from docs/proofs.md alone: it imports
 * nothing of this project, only `ethers` (v6) and `canonicalize` (RFC 8785), so it shows that the
 * spec is enough, and can be copied out as it is.
 *
 *   npx tsx examples/independent-verify.ts proof.json --rpc URL --contract 0x… --signer 0x…
 *   npx tsx examples/independent-verify.ts --vectors test/vectors   # the reference vectors
 *
 * Prints each check (and a WARNING line under one that passes with something to look at, the reason
 * after one that fails for a reason beside its own comparison) and exits 0 only if all pass. `openmcp verify` does more (it refuses extra
 * fields, ambiguous JSON and other signature encodings, and says why a check failed); this is the
 * core that any second implementation must agree with. See docs/proofs.md, section 10.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { Contract, JsonRpcProvider, recoverAddress } from 'ethers';

const sha256 = (...parts: Uint8Array[]) => createHash('sha256').update(Buffer.concat(parts)).digest();
const bytes = (hex: string) => Buffer.from(hex.slice(2), 'hex');
const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString('hex')}`;

/** §1: SHA-256 of the JCS text of the content fields (absent ones omitted). */
export function eventHash(event: Record<string, unknown>): string {
  const fields = ['id', 'type', 'version', 'stream', 'occurredAt', 'tenant', 'actor', 'correlationId', 'causationId', 'data'];
  const content = Object.fromEntries(fields.filter((k) => event[k] !== undefined).map((k) => [k, event[k]]));
  return hex(sha256(Buffer.from(canonicalize(content)!, 'utf8')));
}

/** §3: SHA-256(0x00 ‖ seq as 8 bytes big-endian ‖ event hash). */
export function leafHash(seq: number, hash: string): Buffer {
  const seqBytes = Buffer.alloc(8);
  seqBytes.writeBigUInt64BE(BigInt(seq));
  return sha256(Buffer.from([0]), seqBytes, bytes(hash));
}

/** §3 "Inclusion proof": the root the path leads to, or undefined when the path does not fit the tree. */
export function rootFromPath(index: number, treeSize: number, leaf: Buffer, path: string[]): string | undefined {
  let fn = BigInt(index);
  let sn = BigInt(treeSize - 1);
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) return undefined;
    if (fn % 2n === 1n || fn === sn) {
      r = sha256(Buffer.from([1]), bytes(p), r);
      if (fn % 2n === 0n) while (fn % 2n === 0n && fn !== 0n) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else {
      r = sha256(Buffer.from([1]), r, bytes(p));
    }
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  return sn === 0n ? hex(r) : undefined;
}

/** §4: the address that signed the batch head (SHA-256 of its JCS text, no further hashing). */
export function batchHeadSigner(head: { batchId: number; firstSeq: number; lastSeq: number; root: string; prevRoot: string }, signature: string): string {
  return recoverAddress(sha256(Buffer.from(canonicalize(head)!, 'utf8')), signature).toLowerCase();
}

/** §5: the only two views an auditor needs, and the event anchor() emits, as ethers human-readable ABI. */
const AUDIT_ANCHOR_ABI = [
  'function batch(uint64 batchId) view returns (bytes32 root, uint64 firstSeq, uint64 lastSeq, uint64 anchoredAt)',
  'function verifyInclusion(uint64 batchId, uint64 index, bytes32 leafHash, bytes32[] proof) view returns (bool)',
  'event BatchAnchored(uint64 indexed batchId, uint64 firstSeq, uint64 lastSeq, bytes32 root)',
];

/** The fields of a proof file these checks read (docs/proofs.md section 7). */
export type ProofFile = {
  event: Record<string, unknown> & { hash: string };
  seq: number;
  batch: { id: number; firstSeq: number; lastSeq: number; root: string; prevRoot: string; signature: string };
  index: number;
  treeSize: number;
  path: string[];
  anchor: { chainId: number; contract: string; txHash: string; blockNumber: number };
};

/** A check's name, whether it passed, and what a pass leaves to look at or a failure's reason (undefined: nothing). */
export type Check = [name: string, ok: boolean, note?: string];

/**
 * §7 check 6, the file's `anchor.txHash` read on the chain (a pointer, not evidence: the root
 * batch(id) returns is). Fails only a transaction mined and successful with no BatchAnchored of
 * this batch, range and root from the contract: the same signed call is made wherever it is mined,
 * so no reorg explains it. One not on the chain, reverted, in another block, or that the RPC will
 * not read passes with a warning: a reorg explains each (the batch anchored again, §6), as does a
 * node that keeps no index of old transactions. One JSON-RPC request, eth_getTransactionReceipt.
 */
export async function anchorTransaction(provider: JsonRpcProvider, anchor: Contract, p: ProofFile): Promise<{ ok: boolean; warning?: string }> {
  const { txHash, blockNumber } = p.anchor;
  const b = p.batch;
  type Receipt = { status: string; blockNumber: string; logs: { address: string; topics: string[]; data: string }[] } | null;
  let r: Receipt;
  try {
    r = (await provider.send('eth_getTransactionReceipt', [txHash])) as Receipt;
  } catch (err) {
    return { ok: true, warning: `transaction ${txHash} could not be read (${(err as { shortMessage?: string }).shortMessage ?? 'no answer'})` };
  }
  if (!r) return { ok: true, warning: `transaction ${txHash} is not on this chain (lost in a reorg and the batch anchored again, or a node that keeps no index of old transactions)` };
  const mined = Number(BigInt(r.blockNumber));
  if (BigInt(r.status) !== 1n) return { ok: true, warning: `transaction ${txHash} reverted in block ${mined}` };
  const anchored = r.logs.some((l) => {
    if (l.address.toLowerCase() !== String(anchor.target).toLowerCase()) return false;
    try {
      const e = anchor.interface.parseLog(l);
      return e?.name === 'BatchAnchored' && Number(e.args[0]) === b.id && Number(e.args[1]) === b.firstSeq && Number(e.args[2]) === b.lastSeq && e.args[3] === b.root;
    } catch {
      return false;
    }
  });
  if (!anchored) return { ok: false };
  if (mined !== blockNumber) return { ok: true, warning: `transaction ${txHash} anchored batch ${b.id} in block ${mined}, not in block ${blockNumber} as the file says (a reorg moved it)` };
  return { ok: true };
}

/** Every check of the proof file `p` against the operator's published contract and sealer. */
export async function verify(p: ProofFile, o: { rpc: string; contract: string; signer: string }): Promise<Check[]> {
  const leaf = leafHash(p.seq, p.event.hash);
  const b = p.batch;
  const checks: Check[] = [
    ['event hash', eventHash(p.event) === p.event.hash],
    ['leaf', p.seq === b.firstSeq + p.index && p.treeSize === b.lastSeq - b.firstSeq + 1],
    ['root from path', rootFromPath(p.index, p.treeSize, leaf, p.path) === b.root],
    ['batch signature', batchHeadSigner({ batchId: b.id, firstSeq: b.firstSeq, lastSeq: b.lastSeq, root: b.root, prevRoot: b.prevRoot }, b.signature) === o.signer.toLowerCase()],
  ];
  const provider = new JsonRpcProvider(o.rpc);
  try {
    const anchor = new Contract(o.contract, AUDIT_ANCHOR_ABI, provider);
    const { chainId } = await provider.getNetwork();
    // An address with no contract answers every view with nothing, which ethers reports as "could not decode result data".
    const missing = (await provider.getCode(o.contract)) === '0x' ? `no contract at ${o.contract} on chain ${chainId}` : undefined;
    if (missing) return [...checks, ['on-chain root', false, missing], ['on-chain inclusion', false, missing]];
    const [root, firstSeq, lastSeq] = await anchor.batch(b.id);
    // The file names its contract: one other than the contract trusted is a false account of its anchor (§7, check 6).
    const sameContract = String(p.anchor.contract).toLowerCase() === o.contract.toLowerCase();
    const rootOnChain = sameContract && Number(chainId) === p.anchor.chainId && root === b.root && Number(firstSeq) === b.firstSeq && Number(lastSeq) === b.lastSeq;
    // The transaction is read once the root is found, as `openmcp verify` does: part of the same check.
    const tx = rootOnChain ? await anchorTransaction(provider, anchor, p) : { ok: false };
    checks.push(['on-chain root', rootOnChain && tx.ok, tx.warning]);
    checks.push(['on-chain inclusion', await anchor.verifyInclusion(b.id, p.index, hex(leaf), p.path)]);
  } finally {
    provider.destroy();
  }
  return checks;
}

/** Every vector of event-hash.json, merkle.json and batch-head.json in `dir`: how many of how many match. */
export function checkVectors(dir: string): { matched: number; total: number } {
  const read = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8'));
  let matched = 0;
  let total = 0;
  const count = (ok: boolean) => ((total += 1), (matched += ok ? 1 : 0));
  for (const c of read('event-hash.json').cases) count(eventHash(c.event) === c.hash);
  for (const t of read('merkle.json').trees) {
    for (const pr of t.proofs) count(rootFromPath(pr.index, t.treeSize, leafHash(t.firstSeq + pr.index, t.eventHashes[pr.index]), pr.path) === t.root);
  }
  const bh = read('batch-head.json');
  count(batchHeadSigner(bh.head, bh.signature) === bh.signer.toLowerCase());
  return { matched, total };
}

async function main(args: string[]): Promise<number> {
  const option = (name: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : undefined);
  const vectors = option('vectors');
  if (vectors) {
    const { matched, total } = checkVectors(vectors);
    console.log(`${matched}/${total} vectors match`);
    return matched === total ? 0 : 1;
  }
  const [rpc, contract, signer] = [option('rpc'), option('contract'), option('signer')];
  if (!args[0] || !rpc || !contract || !signer) {
    console.error('usage: independent-verify.ts proof.json --rpc URL --contract 0x… --signer 0x…  |  --vectors DIR');
    return 2;
  }
  const file = JSON.parse(readFileSync(args[0], 'utf8'));
  if (file?.format !== 'openmcp-proof/1') {
    // An error answer saved in its place (curl saves one: {"code": "PROOF_PENDING", …}).
    console.error(`error: ${args[0]} is not an openmcp-proof/1 file${file?.code ? ` but an error answer: ${file.code}: ${file.detail}` : ''}`);
    return 2;
  }
  const checks = await verify(file, { rpc, contract, signer });
  for (const [name, ok, note] of checks) {
    console.log(ok ? `✔ ${name}` : `✘ ${name}${note ? `: ${note}` : ''}`);
    if (ok && note) console.log(`WARNING: ${note}`);
  }
  return checks.every(([, ok]) => ok) ? 0 : 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(`error: ${(err as Error).message}`);
      process.exit(2);
    },
  );
}
