// Reads AuditAnchor over plain JSON-RPC (eth_chainId, eth_call): a fetch straight from the
// browser to the RPC the auditor chose, so the gateway is not in the path.
import { concat, fromHex, toHex, uintBE, utf8 } from './hex.js';
import { keccak256, selector } from './keccak.js';

/** @param {typeof fetch} fetchFn @param {string} rpcUrl @param {string} method @param {unknown[]} params */
async function rpc(fetchFn, rpcUrl, method, params) {
  const res = await fetchFn(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  });
  if (!res.ok) throw new Error(`RPC answered HTTP ${res.status}`);
  const body = await res.json();
  if (body.error) throw new Error(`RPC error ${body.error.code}: ${body.error.message}`);
  return body.result;
}

/** @param {typeof fetch} fetchFn @param {string} rpcUrl */
export async function chainIdOf(fetchFn, rpcUrl) {
  return Number(BigInt(await rpc(fetchFn, rpcUrl, 'eth_chainId', [])));
}

const word = (/** @type {number|bigint} */ n) => uintBE(n, 32);

/**
 * AuditAnchor.nextBatchId(): how many batches the contract holds.
 * @param {typeof fetch} fetchFn @param {string} rpcUrl @param {string} contract
 */
export async function readNextBatchId(fetchFn, rpcUrl, contract) {
  const out = fromHex(await rpc(fetchFn, rpcUrl, 'eth_call', [{ to: contract, data: selector('nextBatchId()') }, 'latest']));
  if (out.length !== 32) throw new Error(`no AuditAnchor at ${contract} (eth_call returned ${out.length} bytes)`);
  return Number(BigInt(toHex(out)));
}

/**
 * AuditAnchor.batch(batchId) → {root, firstSeq, lastSeq, anchoredAt}; throws when the call
 * reverts (unknown batch) or the address holds no contract.
 * @param {typeof fetch} fetchFn @param {string} rpcUrl @param {string} contract @param {number} batchId
 */
export async function readAnchoredBatch(fetchFn, rpcUrl, contract, batchId) {
  const data = toHex(concat(fromHex(selector('batch(uint64)')), word(batchId)));
  const out = await rpc(fetchFn, rpcUrl, 'eth_call', [{ to: contract, data }, 'latest']);
  const bytes = fromHex(out);
  if (bytes.length < 128) throw new Error(`no AuditAnchor at ${contract} (eth_call returned ${bytes.length} bytes)`);
  const uint = (/** @type {number} */ i) => Number(BigInt(toHex(bytes.subarray(32 * i, 32 * i + 32))));
  return { root: toHex(bytes.subarray(0, 32)), firstSeq: uint(1), lastSeq: uint(2), anchoredAt: uint(3) };
}

/**
 * The contract's own check: AuditAnchor.verifyInclusion(batchId, index, leafHash, proof).
 * @param {typeof fetch} fetchFn @param {string} rpcUrl @param {string} contract
 * @param {number} batchId @param {number} index @param {Uint8Array} leaf @param {string[]} path
 */
export async function verifyInclusionOnChain(fetchFn, rpcUrl, contract, batchId, index, leaf, path) {
  // ABI: three static words, then the offset of the dynamic bytes32[] (4 head words = 128), its length, its items.
  const data = toHex(
    concat(fromHex(selector('verifyInclusion(uint64,uint64,bytes32,bytes32[])')), word(batchId), word(index), leaf, word(128), word(path.length), ...path.map((p) => fromHex(p, 32))),
  );
  const out = fromHex(await rpc(fetchFn, rpcUrl, 'eth_call', [{ to: contract, data }, 'latest']));
  if (out.length !== 32) throw new Error(`unexpected answer of ${out.length} bytes`);
  return out[31] === 1;
}

/**
 * A transaction's receipt (eth_getTransactionReceipt): null when the node does not hold it.
 * @param {typeof fetch} fetchFn @param {string} rpcUrl @param {string} txHash
 * @returns {Promise<{ status: number, blockNumber: number, logs: { address: string, topics: string[], data: string }[] } | null>}
 */
export async function readReceipt(fetchFn, rpcUrl, txHash) {
  const r = await rpc(fetchFn, rpcUrl, 'eth_getTransactionReceipt', [txHash]);
  if (!r) return null;
  return { status: Number(BigInt(r.status)), blockNumber: Number(BigInt(r.blockNumber)), logs: r.logs ?? [] };
}

const BATCH_ANCHORED_TOPIC = toHex(keccak256(utf8('BatchAnchored(uint64,uint64,uint64,bytes32)')));

/**
 * Whether `log` is AuditAnchor's BatchAnchored(batchId, firstSeq, lastSeq, root) emitted by `contract`.
 * @param {{ address: string, topics: string[], data: string }} log @param {string} contract
 * @param {{ id: number, firstSeq: number, lastSeq: number, root: string }} b
 */
export function isBatchAnchoredLog(log, contract, b) {
  if (String(log.address).toLowerCase() !== contract.toLowerCase() || log.topics?.[0] !== BATCH_ANCHORED_TOPIC) return false;
  const data = fromHex(log.data);
  if (data.length !== 96 || log.topics.length !== 2) return false;
  const uint = (/** @type {Uint8Array} */ w) => Number(BigInt(toHex(w)));
  return uint(fromHex(log.topics[1])) === b.id && uint(data.subarray(0, 32)) === b.firstSeq && uint(data.subarray(32, 64)) === b.lastSeq && toHex(data.subarray(64, 96)) === b.root;
}
