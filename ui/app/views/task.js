import { useRef, useState } from 'preact/hooks';
import { api, apiAll } from '../api.js';
import { Badge, Empty, ErrorBox, Hex, JsonView, Loading, useAsync, useLiveRefresh } from '../components.js';
import { answerNote, summarize } from '../event-summary.js';
import { formatClock, formatCount, formatDuration, formatTime, zoneName } from '../format.js';
import { html } from '../html.js';
import { loadTrail } from '../task-trail.js';
import { toolCallsHash } from '../tool-calls.js';
import { undecided } from '../undecided.js';

/** @param {{ e: any }} p */
function TimelineItem({ e }) {
  const s = summarize(e);
  const [open, setOpen] = useState(false);
  return html`<li class=${`tl tl-${s.category}`} data-type=${e.type} data-event=${e.id}>
    <div class="tl-head">
      <time datetime=${e.occurredAt} title=${formatTime(e.occurredAt)}>${formatClock(e.occurredAt)}</time>
      <span class="tl-type">${e.type}</span>
      <span class="tl-sum">${s.summary}</span>
    </div>
    ${s.redacted ? html`<p class="redacted">Redacted: ${s.redacted}</p>` : null}
    <div class="tl-actions">
      <button type="button" class="link" aria-expanded=${open} onClick=${() => setOpen(!open)}>${open ? 'Hide' : 'Show'} payload</button>
      ${e.batchId !== undefined
        ? html`<a href=${`#/verify/${e.id}`} data-verify=${e.id}>Verify proof</a> <span class="muted small">seq ${formatCount(e.seq)} · batch ${e.batchId}</span>`
        : html`<span class="muted small">proof pending: not sealed yet</span>`}
      <span class="muted small">hash <${Hex} value=${e.hash} /></span>
    </div>
    ${open ? html`<${JsonView} value=${{ actor: e.actor, correlationId: e.correlationId, causationId: e.causationId, data: e.data }} />` : null}
  </li>`;
}

/** @param {{ id: string, me: any }} p */
export function TaskView({ id, me }) {
  const task = useAsync(() => api(`/v1/tasks/${encodeURIComponent(id)}`), [id]);
  // Tool calls already final (outcome recorded, sealed) are read once per page, not on each reload.
  const doneCalls = useRef(/** @type {Map<string, any[]>} */ (new Map()));
  // The trail is the log's (events:read), which viewers and agents may not read: not asked for,
  // said instead (older servers send no permissions: ask, and let the API answer).
  const mayReadTrail = me.permissions ? me.permissions.includes('events:read') : true;
  const events = useAsync(() => (mayReadTrail ? loadTrail({ api, apiAll }, id, doneCalls.current) : Promise.resolve(undefined)), [id]);
  // Sealing adds seq/batch to events already shown: refresh on batches too. At most once a second:
  // a running task's every event asks for a reload, and each costs several requests of the key's limit.
  useLiveRefresh((n) => n.taskId === id || n.type === 'BatchSealed', () => (task.reload(), events.reload()), 1000);

  if (task.error) return html`<h1>Task <code>${id}</code></h1><${ErrorBox} error=${task.error} retry=${task.reload} />`;
  if (!task.value) return html`<h1>Task</h1><${Loading} what="Loading the task" />`;
  const t = task.value;
  const pendingApproval = undecided(events.value ?? []).length > 0 && (t.status === 'running' || t.status === 'submitted');
  // Never opened here: the private key is the client's alone (docs/agent.md, "Sealed answers").
  const answer = answerNote(t.id, t.output, t.sealedAnswer);
  return html`<h1>Task <code class="id">${t.id}</code> <${Badge} status=${t.status} /></h1>
    <dl class="facts">
      <div><dt>Submitted</dt><dd>${formatTime(t.createdAt)}</dd></div>
      <div><dt>Last change</dt><dd>${formatTime(t.updatedAt)}</dd></div>
      ${t.instruction ? html`<div class="wide"><dt>Instruction</dt><dd>${t.instruction}</dd></div>` : null}
      ${t.instructionErased
        ? html`<div class="wide" data-instruction="erased"><dt>Instruction</dt><dd class="muted">erased, only its hash: given encrypted (MCP_PAYLOAD_POLICY=encrypted), and the submitter's key has been deleted since <${Hex} value=${t.instructionHash} /></dd></div>`
        : null}
      ${t.agentId ? html`<div><dt>Agent</dt><dd>${t.agentId}</dd></div>` : null}
      ${t.chainId ? html`<div><dt>Chain</dt><dd>${t.chainId}</dd></div>` : null}
      ${t.outputHash ? html`<div><dt>Output hash</dt><dd><${Hex} value=${t.outputHash} /></dd></div>` : null}
      ${answer
        ? html`<div class="wide" data-answer=${answer.sealed ? 'sealed' : 'not-kept'}><dt>Answer</dt><dd>${answer.sealed
            ? html`sealed to <${Hex} value=${answer.recipient} />; open it with <code>${answer.command}</code>`
            : html`not kept (hash-only): <${Hex} value=${answer.answerHash} />`}</dd></div>`
        : null}
      ${t.error ? html`<div class="wide"><dt>Error</dt><dd class="bad">${t.error.code}: ${t.error.message}</dd></div>` : null}
    </dl>
    ${pendingApproval ? html`<p class="notice">This task waits for a human approval. <a href="#/approvals">Review it in Approvals</a>.</p>` : null}
    ${t.steps.length
      ? html`<h2>Steps <span class="muted small"><a href=${toolCallsHash({ taskId: t.id })} data-task-calls>its tool calls</a></span></h2><div class="table-wrap"><table>
          <thead><tr><th scope="col" class="num">#</th><th scope="col">Tool</th><th scope="col">Status</th><th scope="col" class="num">Latency</th></tr></thead>
          <tbody>${t.steps.map((/** @type {any} */ s) => html`<tr><td class="num">${s.index}</td><td><code>${s.tool}</code></td><td><${Badge} status=${s.status} />${s.error ? html` <span class="bad small">${s.error.code}</span>` : null}</td><td class="num">${formatDuration(s.latencyMs)}</td></tr>`)}</tbody>
        </table></div>`
      : null}
    ${t.output !== undefined ? html`<details><summary>Output</summary><${JsonView} value=${t.output} /></details>` : null}
    <h2>Timeline ${events.value ? html`<span class="muted small" data-zone>${formatCount(events.value.length, 'event')}, in order, times in ${zoneName()}</span>` : null}</h2>
    ${!mayReadTrail ? html`<p class="muted" data-trail="forbidden">Your key's role (${me.role}) cannot read a task's audit trail (the event log): an auditor, operator or admin key can.</p>` : null}
    <${ErrorBox} error=${events.error} retry=${events.reload} />
    ${mayReadTrail && !events.value && !events.error ? html`<${Loading} what="Loading the audit trail" />` : null}
    ${events.value && events.value.length === 0 ? html`<${Empty}>No events visible yet.</${Empty}>` : null}
    ${events.value?.length ? html`<ol class="timeline">${events.value.map((/** @type {any} */ e) => html`<${TimelineItem} key=${e.id} e=${e} />`)}</ol>` : null}`;
}
