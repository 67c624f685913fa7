import { api } from '../api.js';
import { Badge, ErrorBox, Hex, JsonView, Loading, useAsync, useLiveRefresh } from '../components.js';
import { formatDuration, formatTime } from '../format.js';
import { html } from '../html.js';
import { callName, errorDigest, hashScheme, payloadNote, payloadState, toolCallsHash } from '../tool-calls.js';

/** Arguments or result: the recorded JSON, else why there is none. @param {{ c: any, part: 'arguments'|'result', title: string }} p */
function Payload({ c, part, title }) {
  const state = payloadState(c, part);
  return html`<section data-payload=${part} data-state=${state}>
    <h2>${title}</h2>
    ${state === 'shown' ? html`<${JsonView} value=${c[part]} />` : html`<p class="muted">${payloadNote(state, part)}</p>`}
  </section>`;
}

/**
 * How a salted hash or digest is made, and its salt, in full for copying, while the subject's key
 * exists: without them the plain SHA-256 of what is shown would not match it.
 * @param {{ salted: { text: string, salt?: string }, of: string }} p
 */
function SaltNote({ salted, of }) {
  return html`<div class="muted small" data-hash-scheme=${of}>${salted.text}${salted.salt ? html`; salt <${Hex} value=${salted.salt} />` : null}</div>`;
}

/**
 * A payload's hash, and for a salted one (MCP_PAYLOAD_POLICY=encrypted) its scheme and salt.
 * @param {{ c: any, part: 'arguments'|'result', title: string }} p
 */
export function PayloadHash({ c, part, title }) {
  const salted = hashScheme(c, part);
  return html`<div><dt>${title}</dt><dd><${Hex} value=${c[`${part}Hash`]} />${salted ? html`<${SaltNote} salted=${salted} of=${part} />` : null}</dd></div>`;
}

/**
 * A failed call's error, and for a withheld message's salted digest (MCP_PAYLOAD_POLICY=encrypted)
 * its scheme and salt, as a payload's hash has them. @param {{ c: any }} p
 */
export function ErrorFact({ c }) {
  if (!c.error) return null;
  const salted = errorDigest(c);
  return html`<div class="wide"><dt>Error</dt><dd><span class="bad" data-error>${c.error.code}: ${c.error.message}</span>${salted ? html`<${SaltNote} salted=${salted} of="error" />` : null}</dd></div>`;
}

/** @param {{ id: string }} p */
export function ToolCallView({ id }) {
  const call = useAsync(() => api(`/v1/tool-calls/${encodeURIComponent(id)}`), [id]);
  useLiveRefresh((n) => n.stream === `toolcall-${id}`, call.reload, 500);
  if (call.error) return html`<h1>Tool call <code>${id}</code></h1><${ErrorBox} error=${call.error} retry=${call.reload} /><p><a href="#/tool-calls">All tool calls</a></p>`;
  if (!call.value) return html`<h1>Tool call</h1><${Loading} what="Loading the call" />`;
  const c = call.value;
  return html`<h1>Tool call <code>${callName(c)}</code> <${Badge} status=${c.status === 'requested' ? 'pending' : c.status} label=${c.status === 'requested' ? 'Requested' : undefined} /></h1>
    <p><a href=${toolCallsHash({ server: c.server })}>Calls of ${c.server}</a> · <a href="#/tool-calls">All tool calls</a></p>
    <dl class="facts">
      <div><dt>Call</dt><dd><code class="id">${c.id}</code></dd></div>
      <div><dt>Server</dt><dd>${c.server} <span class="muted small">${c.serverId}</span></dd></div>
      <div><dt>Requested</dt><dd>${formatTime(c.requestedAt)}</dd></div>
      <div><dt>Answered</dt><dd>${formatTime(c.completedAt)}</dd></div>
      <div><dt>Latency</dt><dd>${formatDuration(c.latencyMs)}</dd></div>
      <div><dt>Cached</dt><dd>${c.cached ? 'yes: answered from the result cache' : 'no'}</dd></div>
      <div><dt>Tool error</dt><dd data-is-error=${String(!!c.isError)}>${c.isError ? html`<span class="bad">yes: the tool answered with an error result</span>` : 'no'}</dd></div>
      <div><dt>Task</dt><dd>${c.taskId ? html`<a href=${`#/tasks/${encodeURIComponent(c.taskId)}`} data-task-link><code>${c.taskId}</code></a>` : html`<span class="muted">none (over /mcp or stdio)</span>`}</dd></div>
      <${PayloadHash} c=${c} part="arguments" title="Arguments hash" />
      <${PayloadHash} c=${c} part="result" title="Result hash" />
      <${ErrorFact} c=${c} />
    </dl>
    <${Payload} c=${c} part="arguments" title="Arguments" />
    <${Payload} c=${c} part="result" title="Result" />`;
}
