import { context, SpanKind, type Span } from '@opentelemetry/api';
import type { EventTraceContexts } from './event-trace-contexts';
import { withSpan } from './with-span';

/**
 * An LLM completion as a CLIENT span `chat <model>` (GenAI semantic conventions); `fn` may add the
 * token usage with `span.setAttribute('gen_ai.usage.input_tokens', n)`.
 * @example const res = await traceLlmCall('gpt-4o-mini', () => client.chat.completions.create(req))
 */
export function traceLlmCall<T>(model: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return withSpan(`chat ${model}`, { kind: SpanKind.CLIENT, attributes: { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': model } }, fn);
}

/**
 * An MCP tool call as a CLIENT span `tools/call <tool>`.
 * @example const r = await traceToolCall('examples__echo', () => tools.callTool(ctx, name, args))
 */
export function traceToolCall<T>(tool: string, fn: (span: Span) => Promise<T>): Promise<T> {
  return withSpan(`tools/call ${tool}`, { kind: SpanKind.CLIENT, attributes: { 'rpc.system.name': 'mcp', 'gen_ai.tool.name': tool } }, fn);
}

/**
 * The anchoring transaction of one batch as a CLIENT span `anchor`, the batch in
 * `openmcp.batch_id` (a span name is a class of spans: with the id in it, span metrics and
 * backends that group by name got one new series per batch, every 10 s, for ever); `fn` may add
 * the transaction hash and block with `span.setAttribute('openmcp.tx_hash', receipt.hash)`.
 * @example await traceAnchorTransaction(b.batchId, () => send(b))
 */
export function traceAnchorTransaction<T>(batchId: number, fn: (span: Span) => Promise<T>): Promise<T> {
  return withSpan('anchor', { kind: SpanKind.CLIENT, attributes: { 'openmcp.batch_id': batchId } }, fn);
}

/**
 * Run `fn` in the trace that appended event `eventId` (what EventTraceContexts remembered), so a
 * process manager reacting to the event (the agent picking up TaskSubmitted, the anchorer
 * anchoring a batch) puts its spans in the request's trace. Without a remembered context, `fn`
 * runs in the current context.
 * @example await withEventContext(contexts, submitted.id, () => runTask(taskId))
 */
export async function withEventContext<T>(contexts: EventTraceContexts | undefined, eventId: string, fn: () => Promise<T>): Promise<T> {
  const ctx = contexts && (await contexts.recall(eventId).catch(() => undefined));
  return ctx ? context.with(ctx, fn) : fn();
}
