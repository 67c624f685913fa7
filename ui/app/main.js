import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, onUnauthorized, session } from './api.js';
import { ErrorBox } from './components.js';
import { html } from './html.js';
import { onLiveState, startLive, stopLive } from './live.js';
import { parseRoute, routeQuery } from './route.js';
import { callFilter } from './tool-calls.js';
import { ActivityView } from './views/activity.js';
import { ApprovalsView } from './views/approvals.js';
import { BatchesView } from './views/batches.js';
import { McpView } from './views/mcp.js';
import { SignIn } from './views/sign-in.js';
import { TaskView } from './views/task.js';
import { ToolCallView } from './views/tool-call.js';
import { ToolCallsView } from './views/tool-calls.js';
import { VerifyView } from './views/verify.js';

const NAV = [
  { href: '#/', label: 'Activity', match: (/** @type {string[]} */ r) => r[0] === '' || r[0] === 'tasks' },
  { href: '#/approvals', label: 'Approvals', match: (/** @type {string[]} */ r) => r[0] === 'approvals' },
  { href: '#/mcp', label: 'MCP servers', match: (/** @type {string[]} */ r) => r[0] === 'mcp' },
  { href: '#/tool-calls', label: 'Tool calls', match: (/** @type {string[]} */ r) => r[0] === 'tool-calls' },
  { href: '#/batches', label: 'Batches', match: (/** @type {string[]} */ r) => r[0] === 'batches' },
  { href: '#/verify', label: 'Verify', match: (/** @type {string[]} */ r) => r[0] === 'verify' },
];

/** The current hash route (route.js), updated as it changes. */
function useRoute() {
  const parse = () => parseRoute(location.hash);
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

function LiveIndicator() {
  const [state, setState] = useState('connecting');
  useEffect(() => onLiveState(setState), []);
  const text = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', unauthorized: 'Key refused', stopped: 'Offline' }[state] ?? state;
  return html`<span class=${`live live-${state}`} role="status" aria-live="polite" data-live=${state}>${text}</span>`;
}

/** @param {{ me: any, onSignOut: () => void }} p */
function Shell({ me, onSignOut }) {
  const route = useRoute();
  const main = useRef(/** @type {HTMLElement|null} */ (null));
  // After navigation, move focus to the new page's heading so keyboard and screen-reader users land on it.
  useEffect(() => {
    const h1 = main.current?.querySelector('h1');
    if (h1) {
      h1.setAttribute('tabindex', '-1');
      h1.focus({ preventScroll: true });
    }
  }, [route.join('/')]);
  let view;
  switch (route[0]) {
    case 'tasks':
      view = html`<${TaskView} id=${route[1]} me=${me} />`;
      break;
    case 'approvals':
      view = html`<${ApprovalsView} me=${me} />`;
      break;
    case 'mcp':
      view = html`<${McpView} me=${me} />`;
      break;
    case 'tool-calls': {
      view = route[1] ? html`<${ToolCallView} key=${route[1]} id=${route[1]} />` : html`<${ToolCallsView} filter=${callFilter(routeQuery(location.hash))} />`;
      break;
    }
    case 'batches':
      view = html`<${BatchesView} />`;
      break;
    case 'verify':
      view = html`<${VerifyView} eventId=${route[1]} me=${me} />`;
      break;
    default:
      view = html`<${ActivityView} me=${me} />`;
  }
  return html`
    <a class="skip" href="#content" onClick=${(/** @type {Event} */ e) => (e.preventDefault(), main.current?.focus())}>Skip to content</a>
    <header class="top">
      <a class="brand" href="#/">OpenMCP-Chain</a>
      <nav aria-label="Main">
        <ul>
          ${NAV.map((n) => html`<li><a href=${n.href} aria-current=${n.match(route) ? 'page' : undefined}>${n.label}</a></li>`)}
        </ul>
      </nav>
      <div class="who">
        <${LiveIndicator} />
        <span class="muted">${me.tenant} · ${me.role}</span>
        <button type="button" class="link" onClick=${onSignOut}>Sign out</button>
      </div>
    </header>
    <main id="content" ref=${main} tabindex="-1">${view}</main>
  `;
}

function App() {
  const [me, setMe] = useState(/** @type {any} */ (undefined));
  const [checking, setChecking] = useState(!!session.key);
  const [notice, setNotice] = useState('');
  const [bootError, setBootError] = useState(/** @type {any} */ (undefined));

  const signOut = (/** @type {string} */ why = '') => {
    session.clear();
    stopLive();
    setMe(undefined);
    setNotice(why);
  };

  useEffect(() => onUnauthorized(() => signOut('Your key was refused (revoked or expired). Sign in again.')), []);
  const check = () => {
    setChecking(true);
    setBootError(undefined);
    api('/ui/api/config')
      .then((c) => {
        setMe(c);
        startLive();
      })
      // Only a refused key is forgotten: a gateway restarting under a reload must not sign the operator out.
      .catch((err) => (err.status === 401 ? session.clear() : setBootError(err)))
      .finally(() => setChecking(false));
  };
  useEffect(() => {
    if (session.key) check();
  }, []);

  if (checking) return html`<p class="boot" role="status">Checking your key…</p>`;
  if (bootError && session.key)
    return html`<main class="signin" id="content"><h1>OpenMCP-Chain</h1>
      <${ErrorBox} error=${bootError} retry=${check} title="The gateway did not answer." />
      <button type="button" class="link" onClick=${() => (setBootError(undefined), signOut(''))}>Sign in with another key</button>
    </main>`;
  if (!me)
    return html`<${SignIn}
      notice=${notice}
      onSignedIn=${(/** @type {any} */ c) => {
        setNotice('');
        setMe(c);
        startLive();
      }}
    />`;
  return html`<${Shell} me=${me} onSignOut=${() => signOut('Signed out. The key was removed from this tab.')} />`;
}

const root = /** @type {HTMLElement} */ (document.getElementById('root'));
// Drop the boot message: render() diffs against what is there and would keep it.
root.textContent = '';
render(html`<${App} />`, root);
