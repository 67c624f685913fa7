import { catalog } from '../../events';
import { OpenMcpError, ValidationError } from '../core/errors';
import { cutText, wellFormed } from '../core/well-formed';
import { createEvent, type Actor, type PendingEvent } from '../core/envelope';
import { newId } from '../core/ids';
import type { Clock } from '../core/clock';
import type { EventStore } from '../eventstore/port';
import { McpGatewayError } from './errors';
import type { CallContext, CatalogTool } from './types';
import type { SealedPayload } from '../erasure/sealed-payload';
import type { PayloadHashScheme } from '../erasure/salted-hash';

/** `encrypted`: payloads kept sealed under their subject's data key (src/erasure), erasable by deleting the key. */
export type PayloadPolicy = 'store' | 'hash-only' | 'encrypted';

/** Payloads above this size are recorded by hash only, whatever the policy. */
export const MAX_STORED_PAYLOAD_CHARS = 256 * 1024;

export const TOOL_CALL_STREAM_PREFIX = 'toolcall-';

/**
 * The canonical JSON an audit event keeps of a payload beside its hash (`argumentsJson`,
 * `resultJson`): none under `hash-only`, nor past MAX_STORED_PAYLOAD_CHARS; the hash is always kept.
 * The gateway's ToolCall* events and the agent's step events keep the same.
 * @example keptPayload('{"text":"hi"}', 'hash-only') // undefined
 */
export function keptPayload(json: string, policy: PayloadPolicy): string | undefined {
  return policy === 'store' && json.length <= MAX_STORED_PAYLOAD_CHARS ? json : undefined;
}

/**
 * What a caller is told of a failed audit append: the store's reason when it is one of ours
 * (OpenMcpError: "event store is closed"…), else only that the store failed. A driver's own
 * message is for operators (the gateway logs it): a SQL driver's holds the statement with its
 * values, the whole event and the arguments in it.
 */
function storeReason(err: unknown): string {
  return err instanceof OpenMcpError ? err.message : 'the event store failed; the gateway log has its error';
}

/**
 * The audit trail of one tools/call, in its own stream `toolcall-<callId>`:
 * ToolCallRequested (revision 0, appended before forwarding), then exactly one of
 * ToolCallCompleted / ToolCallFailed (revision 1). A task id in the context is recorded in
 * the data (`taskId`), and the correlation id links the call to whatever caused it; the outcome's
 * causationId is the ToolCallRequested event's id.
 */
export class ToolCallAudit {
  readonly callId = newId();
  readonly stream = `${TOOL_CALL_STREAM_PREFIX}${this.callId}`;
  private readonly ref: Record<string, unknown>;
  /** ToolCallRequested's id once built: the causationId of the outcome. */
  private requestedId?: string;

  constructor(
    private readonly store: EventStore,
    private readonly ctx: CallContext,
    tool: CatalogTool,
    private readonly clock?: Clock,
    /** Told the store's own error when an append fails (the caller is told only that it did). */
    private readonly logger?: { warn(obj: unknown, msg?: string): void },
  ) {
    this.ref = { serverId: tool.serverId, server: tool.server, tool: tool.upstreamName };
    if (ctx.taskId) this.ref.taskId = ctx.taskId;
  }

  private event(type: string, data: Record<string, unknown>, version = 1): PendingEvent {
    // Object.assign, not `{ ...this.ref, ...data }`: the same object (keys in the same order), but
    // V8 (Node 20) takes a two-source spread through its slow path, about 8 µs a time here, twice a call.
    const full: Record<string, unknown> = Object.assign({}, this.ref, data);
    catalog.validate(type, version, full);
    return createEvent(
      {
        type,
        version,
        stream: this.stream,
        tenant: this.ctx.tenant,
        actor: this.ctx.actor as Actor,
        correlationId: this.ctx.correlationId,
        causationId: this.requestedId,
        data: full,
      },
      this.clock,
    );
  }

  /** Record the request. Throws AUDIT_UNAVAILABLE when it cannot be stored: the call must then not be made. */
  async requested(data: { argumentsHash: string; argumentsJson?: string; argumentsSealed?: SealedPayload; argumentsSaltSealed?: SealedPayload; argumentsHashScheme?: PayloadHashScheme; payloadPolicy: PayloadPolicy; stepId?: string }): Promise<void> {
    // v5 for an agent step's call (its stepId); else v4 for arguments kept by hash only, their salt
    // sealed alone; v3 for sealed arguments (their hash salted), v2 for the rest of
    // MCP_PAYLOAD_POLICY=encrypted: each only where the earlier version cannot say it, so its
    // readers keep reading the rest.
    const version = data.stepId ? 5 : data.argumentsSaltSealed ? 4 : data.argumentsHashScheme ? 3 : data.payloadPolicy === 'encrypted' ? 2 : 1;
    const e = this.event('ToolCallRequested', data, version);
    this.requestedId = e.id;
    try {
      await this.store.append(this.stream, [e], { expectedRevision: 'no_stream' });
    } catch (err) {
      this.refused(err, 'ToolCallRequested', 'the call was not made');
      throw new McpGatewayError('AUDIT_UNAVAILABLE', `tool call not forwarded: the audit log could not record it (${storeReason(err)})`, { cause: err });
    }
  }

  /**
   * Record the result. A result the log cannot hold as it is (an event the envelope refuses:
   * ill-formed text, see createEvent) still ends the call's stream: ToolCallFailed names why, and
   * the caller is told AUDIT_UNAVAILABLE with no result, as when the append fails (no record, no result).
   */
  async completed(data: { resultHash: string; resultJson?: string; resultSealed?: SealedPayload; resultSaltSealed?: SealedPayload; resultHashScheme?: PayloadHashScheme; isError: boolean; cached: boolean; latencyUs: number }): Promise<void> {
    let e: PendingEvent;
    try {
      // v4: a result kept by hash only, its salt sealed alone; v3: a sealed result, its hash salted (v2,
      // a sealed result beside its plain SHA-256, is no longer written).
      e = this.event('ToolCallCompleted', data, data.resultSaltSealed ? 4 : data.resultHashScheme ? 3 : 1);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return this.unrecordable(err, data.latencyUs);
    }
    await this.finish(e);
  }

  /**
   * End the call whose result the log cannot hold (`why`, naming the field): ToolCallFailed says so
   * (the call was made, its outcome is on record), and the caller gets no result (AUDIT_UNAVAILABLE,
   * caused by `why`: an agent's step fails on it rather than trying again).
   */
  async unrecordable(why: ValidationError, latencyUs: number): Promise<never> {
    const message = `the result could not be recorded, so it was withheld: ${why.message}`;
    this.logger?.warn({ err: why, tenant: this.ctx.tenant, callId: this.callId, ...this.ref }, 'mcp gateway: a tool call result the audit log cannot hold was withheld');
    await this.failed({ error: { code: 'AUDIT_UNAVAILABLE', message }, latencyUs });
    throw new McpGatewayError('AUDIT_UNAVAILABLE', `tool call outcome could not be recorded; result withheld (${why.message})`, { cause: why, details: why.details });
  }

  /**
   * Give the operator's log what a hash-only (or encrypted) ToolCallFailed leaves out, so a failed call can be
   * debugged: `error` as `store` would have recorded it (the message the caller was told, a URL's
   * credentials replaced by `***`, at most 4,000 characters), named by this call (`callId`: the
   * `toolcall-<callId>` stream) and `messageHash`, the digest the event keeps of that message (under
   * `encrypted`, salted: with `messageHashScheme` and `messageSalt`).
   * The process log is the operator's to rotate and purge; the event log keeps no text.
   */
  withheld(error: { code: string; message: string }, digest: { hash: string; scheme?: string; salt?: string } | undefined, policy: PayloadPolicy): void {
    this.logger?.warn(
      {
        tenant: this.ctx.tenant,
        callId: this.callId,
        ...this.ref,
        ...(this.ctx.correlationId ? { correlationId: this.ctx.correlationId } : {}),
        error: { code: error.code, message: cutText(error.message, 4000) },
        ...(digest ? { messageHash: digest.hash } : {}),
        // Under `encrypted`, the scheme and salt of that digest: the log holds the message anyway.
        ...(digest?.scheme ? { messageHashScheme: digest.scheme, messageSalt: digest.salt } : {}),
      },
      `mcp gateway: tools/call failed; its error is kept out of the event log (MCP_PAYLOAD_POLICY=${policy})`,
    );
  }

  async failed(data: { error: { code: string; message: string }; errorSaltSealed?: SealedPayload; latencyUs: number }): Promise<void> {
    // The message may quote an upstream or a caller: well-formed (the boundaries make it so; this is the
    // backstop, as a refused ToolCallFailed would leave the call without an outcome), never cut inside a pair.
    // v2: the withheld message's digest salted, its salt sealed alone (MCP_PAYLOAD_POLICY=encrypted).
    const e = this.event('ToolCallFailed', { ...data, error: { code: data.error.code, message: wellFormed(cutText(data.error.message, 4000)) } }, data.errorSaltSealed ? 2 : 1);
    await this.finish(e);
  }

  private async finish(e: PendingEvent): Promise<void> {
    try {
      await this.store.append(this.stream, [e], { expectedRevision: 0 });
    } catch (err) {
      this.refused(err, e.type, 'its result was withheld');
      throw new McpGatewayError('AUDIT_UNAVAILABLE', `tool call outcome could not be recorded; result withheld (${storeReason(err)})`, { cause: err });
    }
  }

  private refused(err: unknown, type: string, consequence: string): void {
    this.logger?.warn({ err, tenant: this.ctx.tenant, callId: this.callId, ...this.ref }, `mcp gateway: the audit log did not record ${type}; ${consequence}`);
  }
}
