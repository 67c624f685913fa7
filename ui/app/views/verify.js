import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorBox } from '../components.js';
import { formatCount } from '../format.js';
import { html } from '../html.js';
import { fetchProofFile } from '../verify/fetch-proof.js';
import { proofFileProblem } from '../verify/json-duplicate-key.js';
import { proofPendingMessage } from '../verify/proof-pending-message.js';
import { PROOF_CHECKS, isEventId, verifyProofInBrowser } from '../verify/verify-proof.js';

// An event id is a UUID as `openmcp verify --event` takes it (isEventId): it refuses anything else before any check.
const NOT_AN_EVENT_ID = 'An event id is a UUID like 01937a6e-7f00-7000-8000-000000000001.';
const GATEWAY_CONTRACT_NOTE = "Checked against the AuditAnchor address this gateway is configured with, filled in above: the gateway's word for it, not a pin of yours. Compare it with the address the operator publishes.";

/** @param {{ checks: any[], running: boolean }} p */
function Checks({ checks, running }) {
  const failed = checks.find((c) => !c.ok);
  const done = !running && checks.length === PROOF_CHECKS.length;
  return html`<section aria-labelledby="checks-h" class="checks-box">
    <h2 id="checks-h">Checks, run in this browser</h2>
    <div role="status" aria-live="polite" class=${`verdict ${done ? (failed ? 'bad' : 'ok') : ''}`} data-verdict=${done ? (failed ? 'failed' : 'passed') : 'running'}>
      ${running ? 'Checking…' : done ? (failed ? `FAILED: ${failed.name}` : `All ${PROOF_CHECKS.length} checks passed`) : ''}
    </div>
    <ol class="checks">
      ${PROOF_CHECKS.map((name) => {
        const c = checks.find((x) => x.name === name);
        const state = !c ? 'waiting' : c.ok ? 'ok' : 'bad';
        return html`<li class=${`check check-${state}`} data-check=${name} data-ok=${c ? String(c.ok) : 'pending'}>
          <span class="mark" aria-hidden="true">${state === 'ok' ? '✓' : state === 'bad' ? '✗' : '…'}</span>
          <span class="check-name">${name}</span>
          <span class="sr-only">${state === 'ok' ? 'passed' : state === 'bad' ? 'failed' : 'not run yet'}</span>
          ${c ? html`<span class="check-detail">${c.detail}</span>` : null}
        </li>`;
      })}
    </ol>
  </section>`;
}

/**
 * `file` is the proof file's text as it came (the gateway's answer, the file dropped): downloaded as
 * is, byte for byte what `openmcp events proof` saves, never re-serialized from `proof` (another
 * text, which another reader could take differently).
 * @param {{ proof: any, file: string }} p
 */
function ProofSummary({ proof, file }) {
  if (!proof || typeof proof !== 'object') return null;
  const e = proof.event ?? {};
  const download = () => {
    const url = URL.createObjectURL(new Blob([file], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = `proof-${e.id ?? 'event'}.json`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };
  return html`<dl class="facts">
    <div><dt>Event</dt><dd><code>${e.type}</code> <code class="small">${e.id}</code></dd></div>
    <div><dt>Audit seq</dt><dd>${typeof proof.seq === 'number' ? formatCount(proof.seq) : '—'}</dd></div>
    <div><dt>Batch</dt><dd>${proof.batch?.id} (${formatCount(proof.treeSize ?? 0, 'event')}, leaf ${proof.index})</dd></div>
    <div><dt>Anchored</dt><dd>${proof.anchor ? `chain ${proof.anchor.chainId}, block ${formatCount(proof.anchor.blockNumber ?? 0)}` : '—'}</dd></div>
    <div><dd><button type="button" class="link" onClick=${download}>Download this proof file</button></dd></div>
  </dl>`;
}

/** @param {{ eventId?: string, me: any }} p */
export function VerifyView({ eventId, me }) {
  const [id, setId] = useState(eventId ?? '');
  const [rpcUrl, setRpcUrl] = useState(me.chainRpcUrl ?? '');
  const [contract, setContract] = useState(me.anchorContract ?? '');
  const [signer, setSigner] = useState('');
  const [proof, setProof] = useState(/** @type {any} */ (undefined));
  const [proofText, setProofText] = useState('');
  const [source, setSource] = useState('');
  const [checks, setChecks] = useState(/** @type {any[]} */ ([]));
  const [running, setRunning] = useState(false);
  const [error, setError] = useState(/** @type {any} */ (undefined));
  // The AuditAnchor address filled in is the gateway's own setting: checked against unchanged, the
  // verdict rests on the gateway's word for it, which an auditor should not take (GATEWAY_CONTRACT_NOTE).
  const [gatewayPinned, setGatewayPinned] = useState(false);
  const [dragging, setDragging] = useState(false);
  const retryTimer = useRef(/** @type {any} */ (undefined));

  /**
   * `expected`: the event the proof must be of (`openmcp verify --event`), the Event id field's; a
   * proof of another event passes every other check, so it fails "proof format" naming both.
   * @param {any} p @param {string} text @param {string} from @param {string|undefined} expected
   */
  const run = async (p, text, from, expected) => {
    setProof(p);
    setProofText(text);
    setSource(from);
    setChecks([]);
    setError(undefined);
    if (!rpcUrl.trim()) {
      setError({ message: 'Enter the chain RPC URL to read the anchored root from.' });
      return;
    }
    setGatewayPinned(!!me.anchorContract && contract.trim().toLowerCase() === String(me.anchorContract).toLowerCase());
    setRunning(true);
    /** @type {any[]} */
    const seen = [];
    try {
      await verifyProofInBrowser(p, { rpcUrl: rpcUrl.trim(), contract: contract.trim() || undefined, signer: signer.trim() || undefined, event: expected, onCheck: (c) => setChecks((seen.push(c), [...seen])) });
    } finally {
      setRunning(false);
    }
  };

  const fetchAndVerify = async (/** @type {string} */ eid) => {
    clearTimeout(retryTimer.current);
    setError(undefined);
    if (!isEventId(eid.trim())) {
      setError({ message: NOT_AN_EVENT_ID });
      return;
    }
    try {
      const got = await fetchProofFile(eid.trim());
      if (got.problem !== undefined) {
        setProof(undefined);
        setChecks([]);
        setSource('');
        setError({ message: got.problem });
        return;
      }
      // The gateway's word is not taken for which event it sent either.
      await run(got.proof, got.text, `fetched from the gateway for event ${eid.trim()}`, eid.trim());
    } catch (err) {
      const e = /** @type {any} */ (err);
      if (e.code === 'PROOF_PENDING') {
        const wait = e.retryAfter ?? 2;
        setError({ message: proofPendingMessage(String(e.message ?? ''), formatCount(wait, 'second')) });
        retryTimer.current = setTimeout(() => fetchAndVerify(eid), wait * 1000);
      } else setError(e);
    }
  };

  useEffect(() => {
    if (eventId) {
      setId(eventId);
      void fetchAndVerify(eventId);
    }
    return () => clearTimeout(retryTimer.current);
  }, [eventId]);

  const readFile = async (/** @type {File|undefined} */ file) => {
    if (!file) return;
    // The Event id field, when filled, names the event the file must prove (as `openmcp verify --event`).
    const expected = id.trim() || undefined;
    if (expected !== undefined && !isEventId(expected)) {
      setProof(undefined);
      setChecks([]);
      setSource('');
      setError({ message: `${NOT_AN_EVENT_ID} Empty the Event id field to check a file of any event.` });
      return;
    }
    const text = await file.text();
    const problem = proofFileProblem(text, file.name);
    if (problem) {
      setProof(undefined);
      setChecks([]);
      setError({ message: problem });
      return;
    }
    await run(JSON.parse(text), text, expected ? `from the file ${file.name}, which must prove event ${expected} (the Event id above)` : `from the file ${file.name}`, expected);
  };

  return html`<h1>Verify an event's proof</h1>
    <p class="muted">The browser recomputes the event hash (RFC 8785 + SHA-256 with WebCrypto), the Merkle leaf and the path to the root, recovers the sealer's signature with secp256k1, then reads the root straight from the AuditAnchor contract through the RPC below. Nothing here takes the gateway's word for it; the gateway only hands over the file.</p>
    <form class="verify-form" onSubmit=${(/** @type {Event} */ e) => (e.preventDefault(), fetchAndVerify(id))}>
      <div class="field"><label for="event-id">Event id <span class="muted small">(a dropped file must prove it; empty = any event)</span></label>
        <input id="event-id" type="text" spellcheck="false" value=${id} onInput=${(/** @type {any} */ e) => setId(e.currentTarget.value)} placeholder="UUID of the event" /></div>
      <div class="field"><label for="rpc-url">Chain RPC URL</label>
        <input id="rpc-url" type="url" spellcheck="false" value=${rpcUrl} onInput=${(/** @type {any} */ e) => setRpcUrl(e.currentTarget.value)} placeholder="https://… an RPC you trust" /></div>
      <div class="field"><label for="contract">AuditAnchor address <span class="muted small">(${me.anchorContract ? "filled in from this gateway's settings: compare it with the operator's published address; " : ''}empty = the file's)</span></label>
        <input id="contract" type="text" spellcheck="false" value=${contract} onInput=${(/** @type {any} */ e) => setContract(e.currentTarget.value)} placeholder="0x…" /></div>
      <div class="field"><label for="signer">Sealer address <span class="muted small">(empty = the file's)</span></label>
        <input id="signer" type="text" spellcheck="false" value=${signer} onInput=${(/** @type {any} */ e) => setSigner(e.currentTarget.value)} placeholder="0x… the operator's published sealer" /></div>
      <button type="submit">Fetch proof and verify</button>
    </form>
    <div
      class=${`drop ${dragging ? 'dragging' : ''}`}
      onDragOver=${(/** @type {DragEvent} */ e) => (e.preventDefault(), setDragging(true))}
      onDragLeave=${() => setDragging(false)}
      onDrop=${(/** @type {DragEvent} */ e) => (e.preventDefault(), setDragging(false), readFile(e.dataTransfer?.files[0]))}
    >
      <label for="proof-file">Or drop a proof file here, or choose one:</label>
      <input id="proof-file" type="file" accept="application/json,.json" onChange=${(/** @type {any} */ e) => readFile(e.currentTarget.files[0])} />
    </div>
    <${ErrorBox} error=${error} />
    ${source ? html`<p class="muted" data-source>Proof ${source}.</p>` : null}
    <${ProofSummary} proof=${proof} file=${proofText} />
    ${proof !== undefined && (checks.length || running) ? html`<${Checks} checks=${checks} running=${running} />` : null}
    ${proof !== undefined && checks.length && gatewayPinned ? html`<p class="muted" data-pin-note>${GATEWAY_CONTRACT_NOTE}</p>` : null}`;
}
