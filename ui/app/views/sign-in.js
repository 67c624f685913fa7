import { useState } from 'preact/hooks';
import { api, session } from '../api.js';
import { html } from '../html.js';

/** @param {{ onSignedIn: (config: any) => void, notice?: string }} p */
export function SignIn({ onSignedIn, notice }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (/** @type {Event} */ e) => {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      const config = await api('/ui/api/config', { key: key.trim() });
      session.set(key.trim());
      setKey('');
      onSignedIn(config);
    } catch (err) {
      const e2 = /** @type {any} */ (err);
      setError(e2.status === 401 ? 'This key was not accepted.' : e2.status === 403 ? 'This key may not read tasks.' : e2.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<main class="signin" id="content">
    <h1>OpenMCP-Chain</h1>
    <p>Sign in with an API key. It is kept in this tab's session storage only, sent in the Authorization header, and forgotten when the tab closes.</p>
    ${notice ? html`<p class="notice" role="status">${notice}</p>` : null}
    <form onSubmit=${submit}>
      <label for="api-key">API key</label>
      <input id="api-key" name="api-key" type="password" autocomplete="off" spellcheck="false" required value=${key} onInput=${(/** @type {any} */ e) => setKey(e.currentTarget.value)} aria-describedby=${error ? 'key-error' : undefined} />
      ${error ? html`<p id="key-error" class="error" role="alert">${error}</p>` : null}
      <button type="submit" disabled=${busy}>${busy ? 'Checking…' : 'Sign in'}</button>
    </form>
    <p class="muted">The bootstrap admin key is printed once at first start and stored in DATA_DIR/admin.key.</p>
  </main>`;
}
