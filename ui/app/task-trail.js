// A task's audit trail as the Task page shows it: its own stream, plus the gateway's audit of
// each tool call it made (their own `toolcall-<id>` streams, named by the steps), in global order.

const OUTCOMES = new Set(['ToolCallCompleted', 'ToolCallFailed']);

/**
 * Has this tool call's stream reached its final form? Its outcome is recorded (nothing is
 * appended after it) and every event is sealed (seq and batch set, which is all that changes later).
 * @param {any[]} events
 */
const final = (events) => events.some((e) => OUTCOMES.has(e.type)) && events.every((e) => e.batchId !== undefined);

/**
 * The trail of task `id`. A tool call's stream is read until it is final, then kept in `done`
 * (callId → events, one map per page) and not asked for again: the page reloads on every notice
 * of a running task, and reading each of its calls again each time spent the key's rate limit.
 * @typedef {{ api: (path: string) => Promise<any>, apiAll: (path: string, max: number) => Promise<any[]> }} TrailClient
 * @param {TrailClient} client @param {string} id @param {Map<string, any[]>} [done]
 * @returns {Promise<any[]>}
 */
export async function loadTrail({ api, apiAll }, id, done = new Map()) {
  const own = await apiAll(`/v1/tasks/${encodeURIComponent(id)}/events?limit=200`, 5000);
  const task = await api(`/v1/tasks/${encodeURIComponent(id)}`);
  const callIds = [...new Set(task.steps.map((/** @type {any} */ s) => s.toolCallId).filter(Boolean))].map(String);
  const calls = await Promise.all(
    callIds.map(async (c) => {
      const kept = done.get(c);
      if (kept) return kept;
      const events = await apiAll(`/v1/events?stream=toolcall-${encodeURIComponent(c)}&limit=100`, 100).catch(() => []);
      if (final(events)) done.set(c, events);
      return events;
    }),
  );
  return [...own, ...calls.flat()].sort((a, b) => a.position - b.position);
}
