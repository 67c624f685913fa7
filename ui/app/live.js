// The live feed: server-sent events read with fetch() (EventSource cannot send the key in a
// header), reconnecting with `after` = the last position seen so no notice is lost.
import { keyRefused, session, unansweredRequests } from './api.js';

/** @typedef {{position:number, id:string, type:string, stream:string, tenant:string, occurredAt:string, taskId?:string, failure?:boolean}} EventNotice */

const listeners = new Set();
const resyncListeners = new Set();
const stateListeners = new Set();
let state = 'connecting';
let after = /** @type {number|undefined} */ (undefined);
let controller = /** @type {AbortController|undefined} */ (undefined);
let stopped = true;

/** @param {(n: EventNotice) => void} fn */
export const onNotice = (fn) => (listeners.add(fn), () => listeners.delete(fn));
/**
 * Told when notices were missed and cannot be replayed (away longer than the server keeps them, or
 * back on a restarted server), and when the feed is back after a break in which a request failed
 * (a view shows its error): whatever a view shows must be reloaded. @param {() => void} fn
 */
export const onResync = (fn) => (resyncListeners.add(fn), () => resyncListeners.delete(fn));
/** @param {(s: string) => void} fn */
export const onLiveState = (fn) => (stateListeners.add(fn), fn(state), () => stateListeners.delete(fn));

function setState(/** @type {string} */ s) {
  state = s;
  for (const fn of stateListeners) fn(s);
}

/** Whether this connection has told the views to reload (its hello, or a reset): once is enough. */
let resynced = false;
const resync = () => {
  resynced = true;
  unansweredRequests.clear();
  for (const fn of resyncListeners) fn();
};

/** Parse SSE frames out of a text buffer; returns what is left unparsed. @param {string} buf */
function drain(buf) {
  let i;
  while ((i = buf.indexOf('\n\n')) >= 0) {
    const frame = buf.slice(0, i);
    buf = buf.slice(i + 2);
    let event = 'message';
    let data = '';
    for (const line of frame.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice(7);
      else if (line.startsWith('data: ')) data += line.slice(6);
    }
    if (!data) continue;
    const msg = JSON.parse(data);
    if (event === 'hello') {
      if (after === undefined) after = msg.position;
      // Back after a break in which a view's request failed (a page opened, a filter set, while
      // the gateway was away shows an error): nothing tells it to ask again if no notice of its
      // own follows. Reloaded once, as after a reset.
      if (state === 'reconnecting' && unansweredRequests.count() > 0) resync();
      setState('live');
    } else if (event === 'reset') {
      // Everything is reloaded: what follows is from the server's position on.
      after = msg.position;
      if (!resynced) resync();
    } else if (event === 'event') {
      after = Math.max(after ?? -1, msg.position);
      for (const fn of listeners) fn(msg);
    }
  }
  return buf;
}

async function run() {
  let delay = 500;
  while (!stopped) {
    controller = new AbortController();
    resynced = false;
    try {
      const q = after === undefined ? '' : `?after=${after}`;
      const res = await fetch(`/ui/api/stream${q}`, { headers: { authorization: `Bearer ${session.key}` }, signal: controller.signal, cache: 'no-store' });
      if (res.status === 401) {
        // Revoked while we listened (the server ends such streams): ask for a key, do not spin.
        setState('unauthorized');
        keyRefused();
        return;
      }
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      delay = 500;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf = drain(buf + value);
      }
    } catch {
      if (stopped) return;
    }
    setState('reconnecting');
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}

export function startLive() {
  if (!stopped) return;
  stopped = false;
  after = undefined;
  setState('connecting');
  void run();
}

export function stopLive() {
  stopped = true;
  controller?.abort();
  setState('stopped');
}
