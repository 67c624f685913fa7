import { useRef, useState } from 'preact/hooks';
import { api, apiAll } from '../api.js';
import { APPROVAL_TYPES, changesApprovals, pendingApprovals } from '../approval-progress.js';
import { Empty, ErrorBox, Hex, Loading, useAsync, useLiveRefresh } from '../components.js';
import { formatCount, formatTime, formatWei } from '../format.js';
import { html } from '../html.js';
import { describeArgs } from '../proposal-args.js';
import { toHex, utf8 } from '../verify/hex.js';
import { canonicalJson } from '../verify/jcs.js';
import { sha256 } from '../verify/sha256.js';

/** Approval events of one task, oldest first. @param {string} taskId @param {string} type */
const approvalEvents = (taskId, type) => apiAll(`/v1/events?stream=task-${encodeURIComponent(taskId)}&type=${type}&limit=1000`, 100_000);

/**
 * Requests without a decision, newest first, each with its proposal re-hashed here and where its
 * approvals stand for `me` (from the recorded ApprovalGiven and ApprovalRequirementChanged events). Only a running task can wait
 * for a human (the agent holds it until the decision), so the search starts from those — a
 * handful, bounded by the workers' concurrency — and reads their own streams: never the whole
 * history of approvals, which grows without end. @param {any} me /ui/api/config
 */
async function loadPending(me) {
  const running = await apiAll('/v1/tasks?status=running&limit=100', 10_000);
  /** @type {any[]} */
  const requests = [];
  for (const task of running) {
    const asked = await approvalEvents(task.id, 'ApprovalRequested');
    if (asked.length === 0) continue;
    const rest = await Promise.all([...APPROVAL_TYPES.filter((t) => t !== 'ApprovalRequested'), 'TransactionSubmitted'].map((t) => approvalEvents(task.id, t)));
    for (const { e, progress } of pendingApprovals([...asked, ...rest.flat()], me)) requests.push({ e, task, progress });
  }
  requests.sort((a, b) => b.e.position - a.e.position);
  const out = [];
  for (const { e, task, progress } of requests) {
    let proposal;
    let hashMatches = false;
    try {
      proposal = JSON.parse(e.data.proposalJson);
      hashMatches = toHex(await sha256(utf8(canonicalJson(proposal)))) === e.data.proposalHash;
    } catch {
      proposal = undefined;
    }
    // Names, signature and token units explain the proposal; the hash check above is over the proposal alone.
    const contract = proposal ? await api(`/ui/api/contract?chainId=${encodeURIComponent(proposal.chainId)}&address=${encodeURIComponent(proposal.to)}&method=${encodeURIComponent(proposal.signature ?? proposal.method)}`).catch(() => undefined) : undefined;
    out.push({ event: e, taskId: task.id, task, proposal, hashMatches, contract, progress });
  }
  return out;
}

/** @param {{ item: any, onDecided: () => void, mayDecide: boolean }} p */
function ApprovalCard({ item, onDecided, mayDecide }) {
  const { event: e, taskId, task, proposal: pr, hashMatches, contract: c, progress: p } = item;
  const [comment, setComment] = useState('');
  const [busy, setBusy] = useState('');
  const [error, setError] = useState(/** @type {any} */ (undefined));
  const [done, setDone] = useState('');
  // An approval short of the count: recorded, the card stays (and Approve goes) until the reload reads it back.
  const [recorded, setRecorded] = useState('');
  const decide = async (/** @type {'approve'|'reject'} */ decision) => {
    setBusy(decision);
    setError(undefined);
    try {
      // The decision names the exact proposal hash shown: a changed proposal cannot ride on it.
      const out = await api(`/v1/tasks/${taskId}/approvals`, { method: 'POST', body: { proposalHash: e.data.proposalHash, decision, ...(comment.trim() ? { comment: comment.trim() } : {}) } });
      // Several approvers: an approval that does not complete the count leaves the transaction held.
      if (out?.status === 'pending') setRecorded(`Your approval is recorded (${out.approvals.given} of ${out.approvals.required}). It stays held until enough other approvers approve it.`);
      else setDone(decision === 'approve' ? 'Approved' : 'Rejected');
      setTimeout(onDecided, 800);
    } catch (err) {
      setError(err);
    } finally {
      setBusy('');
    }
  };
  const headingId = `appr-${e.id}`;
  return html`<article class="card approval" aria-labelledby=${headingId} data-proposal=${e.data.proposalHash}>
    <h2 id=${headingId}>${pr ? `${pr.signature ?? `${pr.method}(…)`} on ${c?.name ?? pr.to}` : 'Proposal'} <span class="muted small">task <a href=${`#/tasks/${taskId}`}><code>${taskId.slice(0, 8)}</code></a></span></h2>
    <p class="muted">Requested ${formatTime(e.occurredAt)} by rule <code>${e.data.rule}</code>${task?.instruction ? html` · task: “${task.instruction}”` : null}</p>
    ${p.required > 1 || !p.selfApproval
      ? html`<p data-quorum>Needs ${p.required > 1 ? `${p.required} distinct approvers` : 'one approver'}${p.selfApproval ? '' : html`, not the task's submitter (<code>${p.requestedBy?.id}</code>${p.youSubmitted ? ': you' : ''})`}.</p>`
      : null}
    ${p.changedFrom
      ? html`<p class="notice" data-requirement-changed>The policy changed while it waited (${formatTime(p.changedFrom.at)}): it asked ${p.changedFrom.required > 1 ? `${p.changedFrom.required} distinct approvers` : 'one approver'}${p.changedFrom.selfApproval ? '' : ", not the task's submitter"} before.${p.changedFrom.reopened ? ' It had been approved under that; it waits for the approvers the policy asks now.' : ''}${p.approvers.length >= p.required ? ' The approvals given are enough now: the next approval releases it.' : ''}</p>`
      : null}
    ${p.required > 1 || p.changedFrom
      ? html`<p data-approvals><strong>${p.approvers.length} of ${p.required} approvals</strong>${p.approvers.length
          ? html` — approved by ${p.approvers.map((a, i) => html`${i ? ', ' : ''}<code>${a.id}</code>${a.you ? ' (you)' : ''} <span class="muted small">${formatTime(a.at)}</span>`)}`
          : null}</p>`
      : null}
    ${pr
      ? html`<dl class="facts proposal">
          <div><dt>Chain</dt><dd>${pr.chainId}</dd></div>
          <div class="wide"><dt>Contract</dt><dd>${c ? html`<strong>${c.name}</strong> ` : null}<code>${pr.to}</code>${c ? null : html` <span class="muted small">(not in this server's CHAINS_FILE: no names to show)</span>`}</dd></div>
          <div class="wide"><dt>Method</dt><dd><code data-signature>${c?.method ? c.method.signature : (pr.signature ?? pr.method)}</code>${c?.method ? html` <span class="muted small">selector ${c.method.selector}</span>` : null}${pr.signature ? null : html` <span class="muted small">(recorded without its signature)</span>`}</dd></div>
          <div class="wide"><dt>Arguments</dt><dd><ol class="args">${describeArgs(pr, c).map(
            (a) => html`<li><span class="muted">${a.label}${a.type ? ` (${a.type})` : ''}:</span> <code>${a.value}</code>${a.inUnits ? html` <strong data-token-amount>= ${a.inUnits}</strong>` : null}</li>`,
          )}</ol></dd></div>
          <div><dt>Value</dt><dd>${formatWei(pr.value)}</dd></div>
          <div><dt>Gas limit</dt><dd>${pr.gas !== undefined ? `${formatCount(Number(pr.gas))} gas` : pr.gasLimit !== undefined ? `${formatCount(Number(pr.gasLimit))} gas` : '—'}</dd></div>
        </dl>`
      : html`<p class="bad">The proposal text cannot be read; do not approve.</p>`}
    <p class=${hashMatches ? 'ok' : 'bad'}>
      Proposal hash <${Hex} value=${e.data.proposalHash} keep=${10} />:
      ${hashMatches ? ' matches SHA-256 of the proposal above, computed in this browser ✓' : ' does NOT match the proposal shown ✗'}
    </p>
    ${recorded && !done ? html`<p class="ok" role="status">${recorded}</p>` : null}
    ${done
      ? html`<p class="ok" role="status">${done}. ${done === 'Approved' ? 'The agent continues.' : 'The agent does not send it.'}</p>`
      : !mayDecide
      ? null
      : !p.mayReject
      ? html`<p class="muted" data-other-tenant>A task of tenant <code>${e.tenant}</code>: only its own keys decide it.</p>`
      : html`<div class="decide">
          <label for=${`c-${e.id}`}>Comment (optional)</label>
          <input id=${`c-${e.id}`} type="text" maxlength="2000" value=${comment} onInput=${(/** @type {any} */ ev) => setComment(ev.currentTarget.value)} />
          ${(p.youApproved && !p.mayApprove) || recorded
            ? html`<span class="given" data-you-approved>You approved</span>`
            : !p.mayApprove
            ? html`<span class="given muted" data-self>You submitted this task: someone else must approve it</span>`
            : html`<button type="button" class="approve" aria-describedby=${headingId} disabled=${!!busy || !hashMatches} onClick=${() => decide('approve')}>${busy === 'approve' ? 'Approving…' : 'Approve'}</button>`}
          <button type="button" class="reject" aria-describedby=${headingId} disabled=${!!busy} onClick=${() => decide('reject')}>${busy === 'reject' ? 'Rejecting…' : 'Reject'}</button>
        </div>`}
    <${ErrorBox} error=${error} title="The decision was not recorded." />
  </article>`;
}

/** @param {{ me: any }} p */
export function ApprovalsView({ me }) {
  // Older servers send no permissions: offer the buttons and let the API answer.
  const mayDecide = me.permissions ? me.permissions.includes('tasks:approve') : true;
  const pending = useAsync(() => loadPending(me), [me]);
  // Reload for approval events, and for the end of a task a card shows: not for every task that
  // ends on a busy gateway, whose reloads would spend this key's rate limit (and then its Approve).
  const shown = useRef(/** @type {Set<string>} */ (new Set()));
  shown.current = new Set((pending.value ?? []).map((/** @type {any} */ i) => i.taskId));
  useLiveRefresh((n) => changesApprovals(n, shown.current), pending.reload);
  return html`<h1>Approvals waiting for a human</h1>
    <p class="muted">Each decision is bound to the proposal's hash: approving releases exactly this call and nothing else.</p>
    ${mayDecide ? null : html`<p class="notice" data-cannot-decide>Your key's role (${me.role}) can look at held transactions but not decide them: an operator or admin key can.</p>`}
    <${ErrorBox} error=${pending.error} retry=${pending.reload} />
    ${!pending.value && !pending.error ? html`<${Loading} what="Looking for held transactions" />` : null}
    ${pending.value && pending.value.length === 0 ? html`<${Empty}>Nothing waits for approval. Held transactions appear here the moment the policy holds them.</${Empty}>` : null}
    ${pending.value?.map((/** @type {any} */ item) => html`<${ApprovalCard} key=${item.event.id} item=${item} onDecided=${pending.reload} mayDecide=${mayDecide} />`)}`;
}
