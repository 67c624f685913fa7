import { parseStream } from '../src/core/envelope';
import type { SealedPayload } from '../src/erasure/sealed-payload';
import type { PayloadHashScheme } from '../src/erasure/salted-hash';
import type { DocumentProjection } from './projection';
import { alreadyApplied } from './stream-revision';

export type ToolCallDoc = {
  id: string;
  tenant: string;
  taskId?: string;
  /** ToolCallRequested v5: the task's step the call was made for (earlier calls: none, joined by order). */
  stepId?: string;
  serverId: string;
  server: string;
  tool: string;
  status: 'requested' | 'completed' | 'failed';
  argumentsHash?: string;
  argumentsJson?: string;
  resultHash?: string;
  resultJson?: string;
  /** MCP_PAYLOAD_POLICY=encrypted: the payloads as the events keep them, opened only when read (src/erasure). */
  argumentsSealed?: SealedPayload;
  resultSealed?: SealedPayload;
  /** ToolCallRequested / ToolCallCompleted v4: the salt alone, sealed, of a payload kept by hash only. */
  argumentsSaltSealed?: SealedPayload;
  resultSaltSealed?: SealedPayload;
  /** The scheme the event names for a salted hash: shown with it whether or not the key still opens the salt. */
  argumentsHashScheme?: PayloadHashScheme;
  resultHashScheme?: PayloadHashScheme;
  /** ToolCallFailed v2: the salt of the withheld message's digest in `error.message`, sealed alone. */
  errorSaltSealed?: SealedPayload;
  isError?: boolean;
  cached?: boolean;
  latencyUs?: number;
  error?: { code: string; message: string };
  requestedAt?: string;
  completedAt?: string;
  /** Global position of the request: orders a task's calls, which become its steps. */
  requestedPosition: number;
  revision: number;
};

const TYPES = new Set(['ToolCallRequested', 'ToolCallCompleted', 'ToolCallFailed']);
type D = Record<string, unknown>;

/**
 * One document per tool-call stream. A completion seen without its request (a consumer that
 * started late) still creates the document, so no recorded call is lost from the read model.
 */
export const toolCallsProjection: DocumentProjection<ToolCallDoc> = {
  name: 'tool-calls',
  canHandle: (e) => TYPES.has(e.type),
  documentId: (e) => parseStream(e.stream).id,
  evolve(current, e) {
    if (alreadyApplied(current, e)) return current;
    const d = e.data as D;
    const base: ToolCallDoc = current ?? {
      id: parseStream(e.stream).id,
      tenant: e.tenant,
      taskId: d.taskId as string | undefined,
      serverId: String(d.serverId),
      server: String(d.server),
      tool: String(d.tool),
      status: 'requested',
      requestedPosition: e.position,
      revision: e.revision,
    };
    const next: ToolCallDoc = { ...base, revision: e.revision };
    switch (e.type) {
      case 'ToolCallRequested':
        return {
          ...next,
          argumentsHash: d.argumentsHash as string,
          argumentsJson: d.argumentsJson as string | undefined,
          argumentsSealed: d.argumentsSealed as SealedPayload | undefined,
          argumentsSaltSealed: d.argumentsSaltSealed as SealedPayload | undefined,
          argumentsHashScheme: d.argumentsHashScheme as PayloadHashScheme | undefined,
          stepId: d.stepId as string | undefined,
          requestedAt: e.occurredAt,
          requestedPosition: e.position,
        };
      case 'ToolCallCompleted':
        return {
          ...next,
          status: 'completed',
          resultHash: d.resultHash as string,
          resultJson: d.resultJson as string | undefined,
          resultSealed: d.resultSealed as SealedPayload | undefined,
          resultSaltSealed: d.resultSaltSealed as SealedPayload | undefined,
          resultHashScheme: d.resultHashScheme as PayloadHashScheme | undefined,
          isError: d.isError as boolean,
          cached: d.cached as boolean,
          latencyUs: d.latencyUs as number,
          completedAt: e.occurredAt,
        };
      case 'ToolCallFailed':
        return {
          ...next,
          status: 'failed',
          error: d.error as ToolCallDoc['error'],
          errorSaltSealed: d.errorSaltSealed as SealedPayload | undefined,
          latencyUs: d.latencyUs as number,
          completedAt: e.occurredAt,
        };
      default:
        return current;
    }
  },
};
