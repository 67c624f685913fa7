import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, Empty, ErrorBox, Loading, useAsync, useLiveRefresh, useTick } from '../components.js';
import { formatAgo, formatCount, formatDuration, formatTime } from '../format.js';
import { html } from '../html.js';
import { toolCallsHash } from '../tool-calls.js';

const MCP_TYPES = new Set(['McpServerRegistered', 'McpServerReconfigured', 'McpServerToolsDiscovered', 'McpServerHealthChanged', 'McpServerRemoved', 'ToolCallCompleted', 'ToolCallFailed']);

/** A server's own limits (over the gateway-wide ones), e.g. `timeout 2 min · connect within 1 min · at most 2 in flight`. */
function limitsText(/** @type {{ timeoutMs?: number, connectTimeoutMs?: number, maxConcurrent?: number }} */ l) {
  return [
    l.timeoutMs !== undefined ? `timeout ${formatDuration(l.timeoutMs)}` : '',
    l.connectTimeoutMs !== undefined ? `connect within ${formatDuration(l.connectTimeoutMs)}` : '',
    l.maxConcurrent !== undefined ? `at most ${formatCount(l.maxConcurrent)} in flight` : '',
  ]
    .filter(Boolean)
    .join(' · ');
}

function ToolSearch() {
  const [q, setQ] = useState('');
  const [debounced, setDebounced] = useState('');
  useEffect(() => {
    const t = setTimeout(() => setDebounced(q.trim()), 250);
    return () => clearTimeout(t);
  }, [q]);
  const hits = useAsync(() => (debounced ? api(`/v1/tools?q=${encodeURIComponent(debounced)}&k=25`) : Promise.resolve(undefined)), [debounced]);
  return html`<section aria-labelledby="tools-h">
    <h2 id="tools-h">Tool catalog</h2>
    <form role="search" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
      <label for="tool-q">Search tools by what they do</label>
      <input id="tool-q" type="search" placeholder="e.g. echo text back, read a token balance" value=${q} onInput=${(/** @type {any} */ e) => setQ(e.currentTarget.value)} />
    </form>
    <${ErrorBox} error=${hits.error} retry=${hits.reload} />
    ${!debounced ? html`<p class="muted">Type to search the catalog of every server you can reach.</p>` : null}
    ${debounced && hits.value && hits.value.items.length === 0 ? html`<${Empty}>No tool matches “${debounced}”.</${Empty}>` : null}
    ${debounced && hits.value?.items.length
      ? html`<ul class="tools" aria-live="polite">${hits.value.items.map(
          (/** @type {any} */ t) => html`<li><code>${t.name}</code> <span class="muted small">score ${t.score.toFixed(3)}</span><p>${t.description ?? html`<span class="muted">no description</span>`}</p></li>`,
        )}</ul>`
      : null}
  </section>`;
}

/** @param {{ me: any }} p */
export function McpView({ me }) {
  const servers = useAsync(() => api('/v1/mcp-servers'), []);
  const health = useAsync(() => api('/ui/api/mcp-health'), []);
  useLiveRefresh((n) => MCP_TYPES.has(n.type), () => (servers.reload(), health.reload()), 1000);
  useTick(10_000);
  const calls = new Map((health.value?.calls ?? []).map((/** @type {any} */ c) => [c.serverId, c]));
  const breakers = new Map((health.value?.upstreams ?? []).map((/** @type {any} */ u) => [u.id, u]));
  return html`<h1>MCP servers and tools</h1>
    <section aria-labelledby="servers-h">
      <h2 id="servers-h">Servers</h2>
      <${ErrorBox} error=${servers.error} retry=${servers.reload} />
      ${!servers.value && !servers.error ? html`<${Loading} what="Loading servers" />` : null}
      ${servers.value && servers.value.items.length === 0 ? html`<${Empty}>No MCP server is registered. Add one with <code>POST /v1/mcp-servers</code>.</${Empty}>` : null}
      ${servers.value?.items.length
        ? html`<div class="table-wrap"><table>
            <thead><tr><th scope="col">Server</th><th scope="col">Health</th><th scope="col">Breaker</th><th scope="col" class="num">Tools</th><th scope="col" class="num">Calls</th><th scope="col" class="num">Errors</th><th scope="col" class="num">Latency p50 / p95</th><th scope="col">Last call</th><th scope="col">Registered</th></tr></thead>
            <tbody>${servers.value.items.map((/** @type {any} */ s) => {
              const c = calls.get(s.id);
              const b = breakers.get(s.id);
              return html`<tr data-server=${s.name}>
                <td><strong>${s.name}</strong> <span class="muted small">${s.transport}${s.tenant === '*' ? ' · shared' : ''}</span></td>
                <td><${Badge} status=${s.health ?? s.status ?? 'unknown'} />${s.healthReason ? html` <span class="muted small">${s.healthReason}</span>` : null}</td>
                <td>${b ? html`<${Badge} status=${b.circuit} />${s.tenant === '*' ? html` <span class="muted small" data-circuit-scope>${me.crossTenant ? `server-wide; ${formatCount(b.tenantCircuitsOpen ?? 0)} ${b.tenantCircuitsOpen === 1 ? "tenant's circuit" : "tenants' circuits"} open (their calls timed out)` : "for your tenant's calls"}</span>` : null}${b.inFlight ? html` <span class="muted small">${formatCount(b.inFlight)} in flight</span>` : null}${b.variableMissingHere ? html`<div class="muted small" data-variable-missing>unreachable from this replica: <code>${b.variableMissingHere}</code> is not set (or not usable) in its environment</div>` : null}` : html`<span class="muted">—</span>`}${s.limits ? html`<div class="muted small" data-limits>${limitsText(s.limits)}</div>` : null}</td>
                <td class="num">${formatCount(s.toolCount ?? 0)}</td>
                <td class="num"><a href=${toolCallsHash({ server: s.name })} data-server-calls title=${`Recent calls of ${s.name}`}>${formatCount(c?.calls ?? 0)}</a></td>
                <td class="num">${formatCount(c?.errors ?? 0)}</td>
                <td class="num">${c?.p50Ms !== undefined ? `${formatDuration(c.p50Ms)} / ${formatDuration(c.p95Ms)}` : '—'}</td>
                <td>${c?.lastCallAt ? html`<span title=${formatTime(c.lastCallAt)}>${formatAgo(c.lastCallAt)}</span>` : '—'}</td>
                <td>${formatTime(s.registeredAt)}</td>
              </tr>`;
            })}</tbody>
          </table></div>
          <p class="muted small">Calls, errors and latency count ${me.crossTenant ? html`<span data-scope="all-tenants">every tenant's tool calls (your key is cross-tenant; the Tool calls page lists tenant ${me.tenant}'s)</span>` : 'tool calls'} seen since the gateway started (up to its last 5,000 events), last 200 calls per server for latency. Each call, with its arguments and result where recorded: <a href="#/tool-calls">Tool calls</a> (a server's count opens its own).</p>`
        : null}
    </section>
    <${ToolSearch} />`;
}
