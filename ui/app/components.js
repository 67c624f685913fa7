import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { html } from './html.js';
import { onNotice, onResync } from './live.js';

/**
 * Load data, reload on demand; keeps the last good value while reloading (and when a reload
 * fails) so live updates do not flash a spinner. A new `identity` (another filter, another id:
 * by default, other `deps`) starts afresh: the last value answered another question, and shown
 * under the new one (or under its error) it would pass for its answer. Deps that only widen the
 * same answer (more pages) keep it: `useAsync(load, [pages, filter], filter)`. Not even the first
 * render under a new identity shows the last value.
 * @template T @param {() => Promise<T>} load @param {unknown[]} deps @param {string} [identity]
 */
export function useAsync(load, deps, identity = JSON.stringify(deps)) {
  const [state, setState] = useState(/** @type {{ value?: T, error?: any, loading: boolean }} */ ({ loading: true }));
  const seq = useRef(0);
  const shown = useRef(identity);
  const reload = useCallback(() => {
    const mine = ++seq.current;
    const fresh = shown.current !== identity;
    shown.current = identity;
    setState((s) => (fresh ? { loading: true } : { ...s, loading: true }));
    load().then(
      (value) => mine === seq.current && setState({ value, loading: false }),
      (error) => mine === seq.current && setState((s) => ({ value: s.value, error, loading: false })),
    );
  }, deps);
  useEffect(reload, [reload]);
  // The render that brings a new identity comes before the effect that reloads: it must not show
  // the last value either (for a frame, or longer on a busy machine, it would list another filter's rows).
  if (shown.current !== identity) return { loading: true, reload };
  return { ...state, reload };
}

/**
 * Call `fn` for live notices that match, at most once per `waitMs` (bursts of events become
 * one refetch), and whenever the stream says notices were missed. The default second keeps a page
 * open on a busy gateway at about 60 reloads a minute, well inside the key's rate limit (600 a
 * minute), with several pages open. @param {(n: any) => boolean} match @param {() => void} fn
 */
export function useLiveRefresh(match, fn, waitMs = 1000) {
  const timer = useRef(/** @type {any} */ (undefined));
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => {
    const soon = () => {
      if (timer.current) return;
      timer.current = setTimeout(() => {
        timer.current = undefined;
        latest.current();
      }, waitMs);
    };
    const off = onNotice((n) => match(n) && soon());
    const offResync = onResync(soon);
    return () => {
      off();
      offResync();
      clearTimeout(timer.current);
    };
  }, []);
}

/**
 * Render again every `ms` while nothing else happens: "12 s ago" must not read so an hour later
 * on a page left open on an idle tenant. @param {number} ms
 */
export function useTick(ms) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setTick((n) => n + 1), ms);
    return () => clearInterval(t);
  }, [ms]);
}

const STATUS_LABEL = { submitted: 'Submitted', running: 'Running', completed: 'Completed', failed: 'Failed', cancelled: 'Cancelled', pending: 'Pending', up: 'Up', down: 'Down', unknown: 'Unknown', closed: 'Closed', open: 'Open', halfOpen: 'Half-open', 'half-open': 'Half-open' };

/** A status word with a colour and a shape, so it never relies on colour alone. @param {{ status: string, label?: string }} p */
export function Badge({ status, label }) {
  return html`<span class=${`badge badge-${status}`}>${label ?? STATUS_LABEL[/** @type {keyof STATUS_LABEL} */ (status)] ?? status}</span>`;
}

/**
 * An API error with its problem code. `title` says what failed: a refused action must not read
 * as a page that failed to load. No Try again for a 403: the same key would be refused again.
 * @param {{ error: any, retry?: () => void, title?: string }} p
 */
export function ErrorBox({ error, retry, title = 'Could not load this.' }) {
  if (!error) return null;
  const status = error.status ? ` (HTTP ${error.status}${error.code ? `, ${error.code}` : ''})` : '';
  return html`<div class="error" role="alert">
    <strong>${title}</strong> ${error.message}${status}
    ${error.status === 403 ? html`<p>Your key's role does not allow this.</p>` : null}
    ${retry && error.status !== 403 ? html`<button type="button" onClick=${retry}>Try again</button>` : null}
  </div>`;
}

/** @param {{ children: any }} p */
export const Empty = ({ children }) => html`<p class="empty">${children}</p>`;

export const Loading = ({ what = 'Loading' }) => html`<p class="loading" role="status">${what}…</p>`;

/**
 * A tiny SVG line chart; the last value and the unit are written out for screen readers and
 * for anyone who would rather read a number than a slope.
 * @param {{ values: number[], label: string, unit: string, format?: (n:number)=>string, tone?: string, overall?: string }} p
 */
export function Sparkline({ values, label, unit, format = (n) => String(n), tone = 'accent', overall }) {
  const w = 160;
  const hgt = 36;
  const max = Math.max(1e-9, ...values);
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(hgt - 2 - (v / max) * (hgt - 4)).toFixed(1)}`).join(' ');
  const last = values.length ? values[values.length - 1] : 0;
  const total = values.reduce((a, b) => a + b, 0);
  return html`<figure class="spark">
    <figcaption>${label}</figcaption>
    <svg viewBox=${`0 0 ${w} ${hgt}`} preserveAspectRatio="none" role="img" aria-label=${`${label}: ${format(last)} ${unit} in the last minute`}>
      <polyline points=${points} class=${`spark-line spark-${tone}`} fill="none" />
    </svg>
    <div class="spark-value"><strong>${format(last)}</strong> ${unit} <span class="muted">this minute · ${overall ?? `${format(total)} in ${values.length} min`}</span></div>
  </figure>`;
}

/** Pretty JSON, with strings that hold JSON (…Json fields) unfolded. @param {{ value: unknown }} p */
export function JsonView({ value }) {
  const unfold = (/** @type {any} */ v) => {
    if (!v || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map(unfold);
    /** @type {Record<string, unknown>} */
    const out = {};
    for (const [k, x] of Object.entries(v)) {
      if (k.endsWith('Json') && typeof x === 'string') {
        try {
          out[k] = JSON.parse(x);
          continue;
        } catch {
          /* keep the text */
        }
      }
      out[k] = unfold(x);
    }
    return out;
  };
  return html`<pre class="json">${JSON.stringify(unfold(value), null, 2)}</pre>`;
}

/** A hash or address, shortened, full text in the title and for copying. @param {{ value?: string, keep?: number }} p */
export function Hex({ value, keep = 6 }) {
  if (!value) return html`<span class="muted">—</span>`;
  const shortText = value.length <= 2 * keep + 3 ? value : `${value.slice(0, keep + 2)}…${value.slice(-keep)}`;
  return html`<code class="hex" title=${value}>${shortText}</code>`;
}
