import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { Badge, Empty, ErrorBox, Loading, Sparkline, useAsync, useLiveRefresh, useTick } from '../components.js';
import { formatAgo, formatCount, formatPercent, formatTime } from '../format.js';
import { html } from '../html.js';
import { taskDescription } from '../task-description.js';

const STATUSES = ['submitted', 'running', 'completed', 'failed', 'cancelled'];


/** @param {{ me: any }} p */
function Sparklines({ me }) {
  const a = useAsync(() => api('/ui/api/activity'), []);
  useLiveRefresh(() => true, a.reload, 2000);
  // Minutes pass without events too: an idle tenant's "this minute" must fall back to 0, and the
  // 30-minute totals let go of what left the window (notices alone never reload an idle page).
  useEffect(() => {
    const t = setInterval(a.reload, 30_000);
    return () => clearInterval(t);
  }, [a.reload]);
  if (a.error) return html`<${ErrorBox} error=${a.error} retry=${a.reload} />`;
  if (!a.value) return html`<${Loading} what="Loading activity" />`;
  const b = a.value.buckets.slice(-30);
  const sum = (/** @type {string} */ k) => b.reduce((n, /** @type {any} */ x) => n + x[k], 0);
  const attemptsAll = sum('toolCalls') + sum('tasksCompleted') + sum('tasksFailed');
  const overallRate = attemptsAll ? (sum('toolErrors') + sum('tasksFailed')) / attemptsAll : 0;
  const errorRate = b.map((/** @type {any} */ x) => {
    const attempts = x.toolCalls + x.tasksCompleted + x.tasksFailed;
    return attempts ? (x.toolErrors + x.tasksFailed) / attempts : 0;
  });
  // A cross-tenant key's counts take in every tenant (as its /v1/events does); the tasks listed
  // below are its own tenant's, as GET /v1/tasks answers it: said, so the two never seem to disagree.
  return html`${me.crossTenant ? html`<p class="muted small" data-scope="all-tenants">Throughput and errors of every tenant (your key is cross-tenant); the tasks below are tenant ${me.tenant}'s.</p>` : null}
    <section class="sparks" aria-label="Throughput and errors over the last 30 minutes">
    <${Sparkline} label="Events" unit="events/min" values=${b.map((/** @type {any} */ x) => x.events)} format=${(/** @type {number} */ n) => formatCount(n)} />
    <${Sparkline} label="Tasks completed" unit="tasks/min" values=${b.map((/** @type {any} */ x) => x.tasksCompleted)} format=${(/** @type {number} */ n) => formatCount(n)} tone="ok" />
    <${Sparkline} label="Tool calls" unit="calls/min" values=${b.map((/** @type {any} */ x) => x.toolCalls)} format=${(/** @type {number} */ n) => formatCount(n)} />
    <${Sparkline} label="Error rate" unit="of calls and tasks" values=${errorRate} format=${formatPercent} tone="bad" overall=${`${formatPercent(overallRate)} over ${b.length} min`} />
  </section>`;
}

/** Tasks per page; "Load older tasks" adds one more. */
const PAGE = 50;

/** @param {{ me: any }} p */
export function ActivityView({ me }) {
  const [status, setStatus] = useState('');
  const [pages, setPages] = useState(1);
  // Newest first, `pages` pages of them: a live refresh keeps every page the operator opened.
  const tasks = useAsync(async () => {
    const items = [];
    let cursor;
    for (let i = 0; i < pages; i++) {
      const page = await api(`/v1/tasks?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      items.push(...page.items);
      cursor = page.nextCursor;
      if (!cursor) break;
    }
    return { items, more: !!cursor };
  }, [pages], '');
  useLiveRefresh((n) => !!n.taskId, tasks.reload);
  useTick(10_000);
  const items = tasks.value?.items ?? [];
  const shown = status ? items.filter((/** @type {any} */ t) => t.status === status) : items;
  const counts = Object.fromEntries(STATUSES.map((s) => [s, items.filter((/** @type {any} */ t) => t.status === s).length]));

  return html`<h1>Live activity</h1>
    <${Sparklines} me=${me} />
    <section aria-labelledby="by-status">
      <h2 id="by-status">Tasks by status ${tasks.value ? html`<span class="muted small">(latest ${formatCount(items.length, 'task')})</span>` : null}</h2>
      <ul class="counts">
        ${STATUSES.map((s) => html`<li><button type="button" class=${`count ${status === s ? 'on' : ''}`} aria-pressed=${status === s} onClick=${() => setStatus(status === s ? '' : s)} data-status=${s}>
          <${Badge} status=${s} /> <strong>${tasks.value ? formatCount(counts[s]) : '—'}</strong>
        </button></li>`)}
      </ul>
    </section>
    <section aria-labelledby="tasks-h">
      <h2 id="tasks-h">Tasks ${status ? html`<span class="muted small">· ${status} only <button type="button" class="link" onClick=${() => setStatus('')}>show all</button></span>` : null}</h2>
      <${ErrorBox} error=${tasks.error} retry=${tasks.reload} />
      ${!tasks.value && !tasks.error ? html`<${Loading} what="Loading tasks" />` : null}
      ${tasks.value && items.length > 0 && shown.length === 0 ? html`<${Empty}>No ${status} task among the latest ${formatCount(items.length, 'task')}.</${Empty}>` : null}
      ${tasks.value && items.length === 0 ? html`<${Empty}>No tasks yet. Submit one with <code>POST /v1/tasks</code>; it appears here as soon as it is accepted.</${Empty}>` : null}
      ${shown.length > 0
        ? html`<div class="table-wrap"><table class="tasks">
            <thead><tr><th scope="col">Task</th><th scope="col">Status</th><th scope="col">What</th><th scope="col" class="num">Steps</th><th scope="col">Submitted</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              ${shown.map(
                (/** @type {any} */ t) => html`<tr data-task=${t.id}>
                  <td><a href=${`#/tasks/${t.id}`}><code>${t.id.slice(0, 8)}</code></a></td>
                  <td><${Badge} status=${t.status} /></td>
                  <td class="what">${taskDescription(t)}</td>
                  <td class="num">${formatCount(t.steps.filter((/** @type {any} */ s) => s.status === 'completed').length)}/${formatCount(t.steps.length)}</td>
                  <td>${formatTime(t.createdAt)}</td>
                  <td title=${formatTime(t.updatedAt)}>${formatAgo(t.updatedAt)}</td>
                </tr>`,
              )}
            </tbody>
          </table></div>`
        : null}
      ${tasks.value?.more ? html`<button type="button" data-more-tasks onClick=${() => setPages(pages + 1)}>Load older tasks</button>` : null}
    </section>`;
}
