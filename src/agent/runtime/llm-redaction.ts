import { OpenMcpError } from '../../core/errors';
import { payloadDigest } from '../../mcp/payload-hash';
import type { AssistantMessage } from '../llm/port';
import { cutText, wellFormed } from '../../core/well-formed';
import { PAYLOAD_HASH_SCHEME, saltedPayloadHash, type PayloadHashScheme } from '../../erasure/salted-hash';
import type { SealedPayload } from '../../erasure/sealed-payload';

/**
 * The LLM_REDACTION a task is run under: the worker's own setting, except that a task submitted with
 * an `answerRecipient`, or with its instruction sealed (TaskSubmitted v3, MCP_PAYLOAD_POLICY=encrypted),
 * is always run `hash-only`. Its client asked for an answer only it can read, or for an input that
 * erasing its key makes unreadable; a worker set to `store` (the API and the workers configured
 * apart, or the setting being changed one process at a time) would otherwise record its prompts and
 * answer whole in the append-only log, for good. Run hash-only, the task loses nothing (its answer
 * is sealed or named by hash) and leaks nothing.
 *
 * @example taskRedaction('store', { answerRecipient: '0x02…' }) // 'hash-only'
 */
export function taskRedaction(setting: 'store' | 'hash-only', task: { answerRecipient?: string; instructionSealed?: unknown }): 'store' | 'hash-only' {
  return task.answerRecipient !== undefined || task.instructionSealed !== undefined ? 'hash-only' : setting;
}

/**
 * What InferenceCompleted v4 keeps of a turn's answer under LLM_REDACTION=hash-only (`responseRedacted`);
 * v7 (MCP_PAYLOAD_POLICY=encrypted) salts `hash`, naming `hashScheme` and its salt sealed alone (`hashSaltSealed`);
 * v8 may salt `contentHash` with that salt too (`contentHashScheme`: a turn that asked for tool calls).
 */
export type RedactedTurn = {
  hash: string;
  chars: number;
  contentHash: string;
  toolCalls: { id: string; name?: string }[];
  hashScheme?: PayloadHashScheme;
  hashSaltSealed?: SealedPayload;
  contentHashScheme?: PayloadHashScheme;
};

/**
 * The non-content parts of an answer, kept under LLM_REDACTION=hash-only beside its hash: the
 * SHA-256 of its text (the canonical JSON string, "" for none: the signed output's `answerHash`
 * for a final turn), and its tool calls' ids (steps are named after them) with the tool's name
 * when it is one of the `offered` tools (a name the model made up is its own words). Arguments
 * are content: left out. Ids are cut at 200 characters, as step ids are.
 *
 * @example redactedResponse({ role: 'assistant', content: null, tool_calls: [call] }, new Set(['crm__lookup'])).toolCalls // [{ id: 'c1', name: 'crm__lookup' }]
 */
export function redactedResponse(message: AssistantMessage, offered: ReadonlySet<string>): Pick<RedactedTurn, 'contentHash' | 'toolCalls'> {
  return {
    contentHash: payloadDigest(message.content ?? '').hash,
    toolCalls: (message.tool_calls ?? []).map((c) => ({ id: cutText(c.id, 200), ...(offered.has(c.function.name) ? { name: c.function.name } : {}) })),
  };
}

/**
 * The assistant message a resumed run puts in the model's history for a hash-only turn it has no
 * copy of: the calls' ids and names (so each tool result still answers its call), `{}` for their
 * arguments, and a note in place of the text saying why (naming it by its contentHash, and that hash's
 * scheme when salted). Its calls that have not ended cannot be
 * made (their arguments are unknown): see argumentsNotKept.
 */
export function unkeptTurnMessage(t: RedactedTurn): AssistantMessage {
  const content = `[this turn's text (${t.contentHashScheme ?? 'sha-256'} ${t.contentHash}) and the arguments of the tools it called are not kept in the task's log (LLM_REDACTION=hash-only), and this run resumed the task after a restart, so they cannot be shown again]`;
  const tool_calls = t.toolCalls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name ?? 'unknown_tool', arguments: '{}' } }));
  return { role: 'assistant', content, ...(tool_calls.length ? { tool_calls } : {}) };
}

/**
 * The failure a resumed run records for a call of a hash-only turn it has no copy of, and that had
 * not ended: not started (never made), or started and read-only and idempotent (safe to repeat,
 * but with what?). Not fatal: the model is told, and may ask for the call again.
 */
export function argumentsNotKept(stepId: string, started: boolean): { code: string; message: string } {
  const what = started
    ? `step ${stepId} was started before a restart and its outcome is unknown; it is read-only and idempotent, but its arguments are not kept in the task's log (LLM_REDACTION=hash-only), so it is not repeated`
    : `step ${stepId} was not made: its arguments are not kept in the task's log (LLM_REDACTION=hash-only) and this run resumed the task after a restart`;
  return { code: 'STEP_ARGUMENTS_NOT_KEPT', message: `${what}; ask for it again if it is still needed` };
}

/**
 * How a recorded message names text it leaves out under LLM_REDACTION=hash-only: by its SHA-256
 * (canonical JSON string), so whoever holds it can show it was that; with a `salt` (under
 * MCP_PAYLOAD_POLICY=encrypted, sealed alone where the message is kept: TaskStepFailed v2, TaskFailed
 * v2), by the salted hash (PAYLOAD_HASH_SCHEME), which confirms no guess once the salt's key is
 * erased; `null` (under `encrypted`, the key unreadable: no salt could be sealed), by no digest.
 * @example withheld('crm_lookup') // 'withheld (LLM_REDACTION=hash-only), sha256 0x…'
 */
export function withheld(text: string, salt?: Buffer | null): string {
  if (salt === null) return 'withheld (LLM_REDACTION=hash-only)';
  const d = payloadDigest(text);
  return salt ? `withheld (LLM_REDACTION=hash-only), ${PAYLOAD_HASH_SCHEME} ${saltedPayloadHash(salt, d.json)}` : `withheld (LLM_REDACTION=hash-only), sha256 ${d.hash}`;
}

/** The text of what the LLM server sent that recordedError withholds from `err` under `hash-only`; undefined when there is none. */
export function withheldServerText(err: unknown, redaction: 'store' | 'hash-only'): string | undefined {
  const quoted = err instanceof OpenMcpError ? err.details?.serverText : undefined;
  return redaction === 'hash-only' && typeof quoted === 'string' && quoted && (err as Error).message.includes(quoted) ? quoted : undefined;
}

/**
 * A task's error as TaskFailed records it (cut at 4000 characters). Under `hash-only`, the part of
 * an LLM error that quotes what the LLM server sent (`details.serverText`: a body that is not JSON,
 * the server's own error message, which may echo the prompt) is withheld. The log of the worker
 * keeps the whole error. `salt`: as withheld's (its digest salted, or none).
 *
 * @example recordedError(new AgentError('LLM_RESPONSE_INVALID', 'LLM … (Unexpected token …)', { details: { serverText: 'Unexpected token …' } }), 'hash-only').message // 'LLM … (withheld (LLM_REDACTION=hash-only), sha256 0x…)'
 */
export function recordedError(err: unknown, redaction: 'store' | 'hash-only', salt?: Buffer | null): { code: string; message: string } {
  const code = err instanceof OpenMcpError ? err.code : 'TASK_ERROR';
  let message = (err as Error).message;
  const quoted = withheldServerText(err, redaction);
  if (quoted) message = message.split(quoted).join(withheld(quoted, salt));
  // It may quote the LLM server or a parser: well-formed, as events need (createEvent).
  return { code, message: wellFormed(cutText(message, 4000)) };
}
