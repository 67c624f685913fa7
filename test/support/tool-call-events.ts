import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import type { EventStore } from '../../src/eventstore/port';
import { payloadDigest } from '../../src/mcp/payload-hash';

export type RecordCallParameters = {
  tenant: string;
  server?: string;
  tool?: string;
  taskId?: string;
  arguments?: unknown;
  /** `store` (default) keeps the payloads' JSON in the events, `hash-only` only their hashes. */
  policy?: 'store' | 'hash-only';
  /** What came of it: an answer (default), a failure, or nothing yet. */
  outcome?: 'completed' | 'failed' | 'none';
  result?: unknown;
  /** The answer is an error result (MCP `isError: true`). */
  isError?: boolean;
  /** The request's occurredAt (ISO); the outcome's is 5 ms later. */
  at?: string;
  /** Record only the outcome, as a read model that never saw the request would have it. */
  withoutRequest?: boolean;
  /** The agent's step the call is made for (ToolCallRequested v5); none: v1, as a call of an earlier release or not a task's. */
  stepId?: string;
};

/**
 * Append a gateway tool call's events (ToolCallRequested, then ToolCallCompleted or
 * ToolCallFailed) as src/mcp/audit.ts records them; returns the call id and last position.
 */
export async function recordCall(store: EventStore, p: RecordCallParameters): Promise<{ id: string; position: number }> {
  const id = newId();
  const stream = `toolcall-${id}`;
  const at = new Date(p.at ?? Date.now());
  const ref = { serverId: `srv-${p.server ?? 'examples'}`, server: p.server ?? 'examples', tool: p.tool ?? 'echo', ...(p.taskId ? { taskId: p.taskId } : {}) };
  const actor = { kind: 'user' as const, id: 'key-1' };
  const keep = (p.policy ?? 'store') === 'store';
  const args = payloadDigest(p.arguments ?? { text: 'hi' });
  const result = payloadDigest(p.result ?? { content: [{ type: 'text', text: 'hi' }] });
  const ev = (type: string, data: Record<string, unknown>, ms: number, version = 1) => createEvent({ type, version, stream, tenant: p.tenant, actor, data: { ...ref, ...data } }, () => new Date(at.getTime() + ms));
  const events = [];
  const requested = { argumentsHash: args.hash, ...(keep ? { argumentsJson: args.json } : {}), payloadPolicy: p.policy ?? 'store', ...(p.stepId ? { stepId: p.stepId } : {}) };
  if (!p.withoutRequest) events.push(ev('ToolCallRequested', requested, 0, p.stepId ? 5 : 1));
  if ((p.outcome ?? 'completed') === 'completed') events.push(ev('ToolCallCompleted', { resultHash: result.hash, ...(keep ? { resultJson: result.json } : {}), isError: p.isError === true, cached: false, latencyUs: 4200 }, 5));
  if (p.outcome === 'failed') events.push(ev('ToolCallFailed', { error: { code: 'MCP_UPSTREAM_TIMEOUT', message: 'no answer in 30000 ms' }, latencyUs: 30_000_000 }, 5));
  const r = await store.append(stream, events);
  return { id, position: r.position };
}
