import type { Readable, Writable } from 'node:stream';
import { STDIO_DEFAULT_MAX_BUFFER_SIZE } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, isJSONRPCRequest, JSONRPCMessageSchema, type JSONRPCMessage, type RequestId } from '@modelcontextprotocol/sdk/types.js';
import { CANCELLED_ERROR } from './cancelled-answer';

/** A request's answers read in one batch, written as one array once none is awaited. */
type Batch = { awaited: Set<RequestId>; answers: unknown[]; written?: boolean };

const LF = 0x0a;

const invalid = (id: RequestId | null, message: string) => ({ jsonrpc: '2.0', id, error: { code: ErrorCode.InvalidRequest, message } });

/** The id of something that failed to be a message, if it has a usable one (JSON-RPC: else null). */
function idOf(value: unknown): RequestId | null {
  const id = typeof value === 'object' && value !== null ? (value as { id?: unknown }).id : undefined;
  return typeof id === 'string' || (typeof id === 'number' && Number.isSafeInteger(id)) ? id : null;
}

/**
 * The server side of MCP's stdio transport (newline-delimited JSON-RPC), as the SDK's
 * StdioServerTransport with the same framing, size bound and drain handling, plus what JSON-RPC 2.0
 * asks of a server and the SDK's drops without an answer (its client then waits for ever): a line
 * that is not JSON is answered -32700, JSON that is no JSON-RPC message -32600 (with its id when it
 * has one), and a batch (an array, which MCP 2025-03-26 allows over stdio) is answered as one array
 * holding each of its requests' answers, once all are in (one the client cancels there as -32800
 * MCP_CALL_CANCELLED, since the others wait for it; alone it is answered nothing, as ever). Blank
 * lines are skipped.
 *
 * @example await server.connect(new StdioGatewayTransport(process.stdin, process.stdout))
 */
export class StdioGatewayTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: Transport['onmessage'];
  private buffer: Buffer | undefined;
  private started = false;
  /** The batch of each request read in one, by its id, until it is answered. */
  private readonly batched = new Map<RequestId, Batch>();

  constructor(
    private readonly stdin: Readable,
    private readonly stdout: Writable,
    private readonly maxBufferSize = STDIO_DEFAULT_MAX_BUFFER_SIZE,
  ) {}

  private readonly ondata = (chunk: Buffer): void => {
    if ((this.buffer?.length ?? 0) + chunk.length > this.maxBufferSize) {
      // As the SDK's: a message this large ends the session.
      this.buffer = undefined;
      this.onerror?.(new Error(`ReadBuffer exceeded maximum size of ${this.maxBufferSize} bytes`));
      void this.close();
      return;
    }
    let buffer = this.buffer ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (let nl = buffer.indexOf(LF); nl >= 0; nl = buffer.indexOf(LF)) {
      const line = buffer.toString('utf8', 0, nl).replace(/\r$/, '');
      buffer = buffer.subarray(nl + 1);
      this.read(line);
    }
    this.buffer = buffer.length ? buffer : undefined;
  };

  private readonly onstdinerror = (error: Error): void => this.onerror?.(error);

  async start(): Promise<void> {
    if (this.started) throw new Error('StdioGatewayTransport already started');
    this.started = true;
    this.stdin.on('data', this.ondata);
    this.stdin.on('error', this.onstdinerror);
  }

  async close(): Promise<void> {
    this.stdin.off('data', this.ondata);
    this.stdin.off('error', this.onstdinerror);
    // Paused only when nobody else reads it, as the SDK's does.
    if (this.stdin.listenerCount('data') === 0) this.stdin.pause();
    this.buffer = undefined;
    this.batched.clear();
    this.onclose?.();
  }

  send(message: JSONRPCMessage): Promise<void> {
    const id = 'id' in message && !('method' in message) ? message.id : undefined;
    const batch = id === undefined ? undefined : this.batched.get(id);
    if (!batch) return this.write(message);
    this.batched.delete(id!);
    batch.awaited.delete(id!);
    batch.answers.push(message);
    return this.flush(batch);
  }

  private read(line: string): void {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      void this.write({ jsonrpc: '2.0', id: null, error: { code: ErrorCode.ParseError, message: 'Parse error: the line is not JSON' } });
      return;
    }
    if (Array.isArray(value)) return this.readBatch(value);
    const parsed = JSONRPCMessageSchema.safeParse(value);
    if (!parsed.success) return void this.write(invalid(idOf(value), 'Invalid Request: not a JSON-RPC 2.0 message'));
    // As in a batch: its answer would be taken for the batched one's, which would then go out alone.
    if (this.batched.size > 0 && isJSONRPCRequest(parsed.data) && this.batched.has(parsed.data.id)) {
      return void this.write(invalid(parsed.data.id, 'Invalid Request: the id of a request still in flight'));
    }
    this.receive(parsed.data);
  }

  private readBatch(values: unknown[]): void {
    if (values.length === 0) return void this.write(invalid(null, 'Invalid Request: an empty batch'));
    const batch: Batch = { awaited: new Set(), answers: [] };
    const messages: JSONRPCMessage[] = [];
    for (const value of values) {
      const parsed = JSONRPCMessageSchema.safeParse(value);
      if (!parsed.success) {
        batch.answers.push(invalid(idOf(value), 'Invalid Request: not a JSON-RPC 2.0 message'));
        continue;
      }
      const message = parsed.data;
      if (isJSONRPCRequest(message)) {
        if (this.batched.has(message.id) || batch.awaited.has(message.id)) {
          batch.answers.push(invalid(message.id, 'Invalid Request: the id of a request still in flight'));
          continue;
        }
        batch.awaited.add(message.id);
        this.batched.set(message.id, batch);
      }
      messages.push(message);
    }
    // Every request is awaited before any is handed on, so that none is answered alone.
    for (const message of messages) this.receive(message);
    void this.flush(batch);
  }

  private receive(message: JSONRPCMessage): void {
    if ('method' in message && message.method === 'notifications/cancelled' && !('id' in message)) {
      // A cancelled request is answered nothing, but its batch is answered as one array: there it
      // is answered as /mcp answers it in a batch (SessionTransport), so the others are not held.
      const id = (message.params as { requestId?: RequestId } | undefined)?.requestId;
      const batch = id === undefined ? undefined : this.batched.get(id);
      if (batch) {
        this.batched.delete(id!);
        batch.awaited.delete(id!);
        batch.answers.push({ jsonrpc: '2.0', id, error: CANCELLED_ERROR });
        this.onmessage?.(message);
        void this.flush(batch);
        return;
      }
    }
    this.onmessage?.(message);
  }

  /** Writes the batch's answers once none is awaited (nothing for a batch of notifications). */
  private flush(batch: Batch): Promise<void> {
    if (batch.written || batch.awaited.size > 0 || batch.answers.length === 0) return Promise.resolve();
    batch.written = true;
    return this.write(batch.answers);
  }

  /** Resolves once stdout has taken it (at once, or at its next 'drain'), as the SDK's send does. */
  private write(payload: unknown): Promise<void> {
    return new Promise((resolve) => {
      if (this.stdout.write(`${JSON.stringify(payload)}\n`)) resolve();
      else this.stdout.once('drain', resolve);
    });
  }
}
