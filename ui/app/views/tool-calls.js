import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, Empty, ErrorBox, Loading, useAsync, useLiveRefresh, useTick } from '../components.js';
import { formatAgo, formatCount, formatDuration, formatTime } from '../format.js';
import { html } from '../html.js';
import { CALL_STATUSES, callName, toolCallsHash, toolCallsPath } from '../tool-calls.js';

/** Calls per page; "Load older calls" adds one more. */
const PAGE = 50;

/** A new filter is a new link: Back returns to the last one. @param {Record<string, string|undefined>} f */
const go = (f) => location.assign(toolCallsHash(f));

/** @param {{ filter: { server?: string, tool?: string, status?: string, taskId?: string } }} p */
function Filters({ filter }) {
  const [server, setServer] = useState(filter.server ?? '');
  const [tool, setTool] = useState(filter.tool ?? '');
  // Back, or a link, changes the filter under the form: show what is applied, not what was typed.
  useEffect(() => (setServer(filter.server ?? ''), setTool(filter.tool ?? '')), [filter.server, filter.tool]);
  const any = Object.keys(filter).length > 0;
  return html`<form class="filters" role="search" aria-label="Filter tool calls" onSubmit=${(/** @type {Event} */ e) => (e.preventDefault(), go({ ...filter, server: server.trim(), tool: tool.trim() }))}>
    <div class="field"><label for="call-server">Server</label>
      <input id="call-server" type="search" spellcheck=${false} placeholder="any" value=${server} onInput=${(/** @type {any} */ e) => setServer(e.currentTarget.value)} /></div>
    <div class="field"><label for="call-tool">Tool <span class="muted small">(its own name, or server__tool)</span></label>
      <input id="call-tool" type="search" spellcheck=${false} placeholder="any" value=${tool} onInput=${(/** @type {any} */ e) => setTool(e.currentTarget.value)} /></div>
    <div class="field"><label for="call-status">Status</label>
      <select id="call-status" value=${filter.status ?? ''} onChange=${(/** @type {any} */ e) => go({ ...filter, server: server.trim(), tool: tool.trim(), status: e.currentTarget.value })}>
        <option value="">any</option>
        ${CALL_STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select></div>
    <button type="submit">Filter</button>
    ${any ? html`<button type="button" class="link" onClick=${() => go({})}>Show all calls</button>` : null}
  </form>`;
}

/** @param {{ filter: { server?: string, tool?: string, status?: string, taskId?: string } }} p */
export function ToolCallsView({ filter }) {
  // A new filter starts again at page 1 (the page stays mounted, so the form keeps the focus).
  const key = JSON.stringify(filter);
  const [paging, setPaging] = useState({ key, pages: 1 });
  const pages = paging.key === key ? paging.pages : 1;
  // Newest first, `pages` pages of them: a live refresh keeps every page the operator opened.
  const calls = useAsync(async () => {
    const items = [];
    let cursor;
    for (let i = 0; i < pages; i++) {
      const page = await api(toolCallsPath(filter, cursor, PAGE));
      items.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return { items, more: !!cursor };
  }, [pages, key], key);
  // The hub announces an event once the read models show it, so the refetch sees the call.
  useLiveRefresh((n) => n.type.startsWith('ToolCall'), calls.reload, 1000);
  useTick(10_000);
  const items = calls.value?.items ?? [];
  const filtered = Object.keys(filter).length > 0;
  return html`<h1>Tool calls</h1>
    <p class="muted">Every <code>tools/call</code> through the gateway (<code>/mcp</code>, <code>openmcp mcp stdio</code> or a task's step) in your tenant, newest first. <a href="#/mcp">MCP servers</a></p>
    <${Filters} filter=${filter} />
    ${filter.taskId ? html`<p class="notice" data-task-filter>Calls of task <a href=${`#/tasks/${encodeURIComponent(filter.taskId)}`}><code>${filter.taskId}</code></a> only. <a href=${toolCallsHash({ ...filter, taskId: undefined })}>All tasks</a></p>` : null}
    <${ErrorBox} error=${calls.error} retry=${calls.reload} />
    ${!calls.value && !calls.error ? html`<${Loading} what="Loading tool calls" />` : null}
    ${calls.value && items.length === 0
      ? html`<${Empty}>${filtered ? 'No tool call matches these filters.' : html`No tool call yet. Calls made through <code>/mcp</code>, <code>openmcp mcp stdio</code> or a task appear here as they are made.`}</${Empty}>`
      : null}
    ${items.length
      ? html`<div class="table-wrap"><table class="calls">
          <thead><tr><th scope="col">Requested</th><th scope="col">Tool</th><th scope="col">Status</th><th scope="col" class="num">Latency</th><th scope="col">Cached</th><th scope="col">Tool error</th><th scope="col">Task</th></tr></thead>
          <tbody>${items.map(
            (/** @type {any} */ c) => html`<tr data-call=${c.id}>
              <td><a href=${`#/tool-calls/${encodeURIComponent(c.id)}`} title=${formatTime(c.requestedAt)}>${formatTime(c.requestedAt)}</a> <span class="muted small">${formatAgo(c.requestedAt)}</span></td>
              <td><code>${callName(c)}</code></td>
              <td><${Badge} status=${c.status === 'requested' ? 'pending' : c.status} label=${c.status === 'requested' ? 'Requested' : undefined} />${c.error ? html` <span class="bad small">${c.error.code}</span>` : null}</td>
              <td class="num">${formatDuration(c.latencyMs)}</td>
              <td>${c.cached ? 'cached' : html`<span class="muted">—</span>`}</td>
              <td>${c.isError ? html`<span class="bad" data-is-error>yes</span>` : html`<span class="muted">—</span>`}</td>
              <td>${c.taskId ? html`<a href=${`#/tasks/${encodeURIComponent(c.taskId)}`} data-task-link><code>${c.taskId.slice(0, 8)}</code></a>` : html`<span class="muted">—</span>`}</td>
            </tr>`,
          )}</tbody>
        </table></div>
        <p class="muted small">${formatCount(items.length, 'call')} shown.</p>`
      : null}
    ${calls.value?.more ? html`<button type="button" onClick=${() => setPaging({ key, pages: pages + 1 })}>Load older calls</button>` : null}`;
}
