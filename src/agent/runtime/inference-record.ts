import { INFERENCE_RESPONSE_JSON_MAX } from '../../../events/agent.events';
import { canonicalJson } from '../../core/canonical';
import { MAX_EVENT_BYTES } from '../../core/envelope';
import type { SealedAnswer } from '../../core/sealed-answer';
import type { SaltOnlySeal } from '../../erasure/sealed-payload';
import type { TurnResponseSeal } from './turn-response-seal';

/** InferenceCompleted.messagesJson's limit in the event schema (characters). */
export const MESSAGES_JSON_MAX = 2_000_000;
/** How much of an omitted response the event keeps (responseOmitted.head). */
export const RESPONSE_HEAD_CHARS = 10_000;
/** Room left for the envelope around the data: ids, stream, tenant, actor, correlation id, times (each bounded far below this). */
const ENVELOPE_ROOM = 64 * 1024;

export type InferenceRecordParameters = {
  /** Every InferenceCompleted field but messagesJson and the response. */
  base: Record<string, unknown>;
  /** The assistant message's canonical JSON and its SHA-256 (payloadDigest). */
  response: { json: string; hash: string };
  /** The messages' canonical JSON, when the redaction policy stores them. */
  messagesJson?: string;
  /**
   * Under LLM_REDACTION=hash-only: what is kept of the response instead of its JSON (redactedResponse).
   * Then neither the response nor the messages are recorded, only digests (v4).
   */
  redacted?: { contentHash: string; toolCalls: { id: string; name?: string }[] };
  /**
   * With `redacted`, for the final turn of a task with an answerRecipient: its answer sealed to that
   * key, kept in the turn's record (v5) so that a run resumed after it completes the task with it.
   */
  sealedAnswer?: SealedAnswer;
  /**
   * With `redacted`, under MCP_PAYLOAD_POLICY=encrypted: the response's salted hash and its salt
   * sealed alone under the submitter's key (sealSaltOnly of `response.json`), kept in place of the
   * plain SHA-256 (v7), so that once the key is erased the hash confirms no guess of the message.
   * With its `contentHash` (a turn that asked for tool calls), that salted hash of the text too (v8).
   */
  responseSeal?: TurnResponseSeal;
  /**
   * With `redacted`, under MCP_PAYLOAD_POLICY=encrypted: the prompt's salted hash and its salt sealed
   * alone under the submitter's key (sealTurnPrompt of the prompt's canonical JSON), kept in place of
   * the plain `base.promptHash` (v8), so that once the key is erased it confirms no guess of the prompt.
   */
  promptSeal?: SaltOnlySeal;
};

export type InferenceRecordReturnType = { version: 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8; data: Record<string, unknown>; omitted: boolean };

const bytesOf = (data: Record<string, unknown>) => Buffer.byteLength(canonicalJson(data));

/** The first `n` characters of `text`, never ending in half a surrogate pair. */
function head(text: string, n: number): string {
  if (text.length <= n) return text;
  const c = text.charCodeAt(n - 1);
  return text.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}

/**
 * The InferenceCompleted to record for one model turn, within the event's limits: the messages
 * are left out first (past MESSAGES_JSON_MAX characters, or when the event would pass
 * MAX_EVENT_BYTES: promptHash still names them, and each tool result is in its step's events);
 * the response is kept whole whenever it fits (v1, as always), and otherwise replaced by
 * `responseOmitted {hash, chars, head}` (v2) — the caller must then fail the task, as a turn
 * the log does not hold whole cannot be replayed. A turn whose usage is `estimated` is v3 (v2's
 * fields, `usage.estimated` allowed), whatever else it holds. A `redacted` turn (LLM_REDACTION=hash-only)
 * is v4 with `responseRedacted {hash, chars, contentHash, toolCalls}` and no messages, whatever its
 * size; one past INFERENCE_RESPONSE_JSON_MAX is `omitted` all the same (no tool calls listed), so the
 * task fails alike under either policy. A redacted turn with a `sealedAnswer` is v5 and keeps it; one
 * whose sealed copy would pass MAX_EVENT_BYTES (the ciphertext is hex: two characters a byte) is
 * `omitted`, kept as v4 without it: the answer could not be delivered (TaskCompleted holds the same
 * copy), so the task fails as for any answer too large for the log. A turn whose `base` says
 * `usageUnbooked: true` (its tokens not booked in the tenant's ledger yet) is v6, whatever else it
 * holds. A redacted turn with a `responseSeal` is v7 (its hash salted), whatever else it holds; one
 * with a `promptSeal` too, or whose `responseSeal` salts its text's hash, is v8 (its promptHash, or
 * contentHash, salted as well). Pure.
 *
 * @example inferenceRecord({ base, response: payloadDigest(message), messagesJson }).omitted // true past 1,000,000 characters
 */
export function inferenceRecord(p: InferenceRecordParameters): InferenceRecordReturnType {
  if (p.redacted && (p.promptSeal || p.responseSeal?.contentHash)) {
    const prompt = p.promptSeal ? { promptHash: p.promptSeal.hash, promptHashScheme: p.promptSeal.scheme, promptHashSaltSealed: p.promptSeal.saltSealed } : {};
    const r = shapedRecord({ ...p, base: { ...p.base, ...prompt } });
    return { ...r, version: 8 };
  }
  const r = shapedRecord(p);
  if (p.redacted && p.responseSeal) return { ...r, version: 7 };
  return p.base.usageUnbooked === true ? { ...r, version: 6 } : r;
}

function shapedRecord(p: InferenceRecordParameters): InferenceRecordReturnType {
  const fits = (d: Record<string, unknown>) => bytesOf(d) + ENVELOPE_ROOM <= MAX_EVENT_BYTES;
  const estimated = (p.base.usage as { estimated?: boolean } | undefined)?.estimated === true;
  if (p.redacted) {
    const tooLarge = p.response.json.length > INFERENCE_RESPONSE_JSON_MAX;
    const seal = p.responseSeal;
    const hash = seal ? { hash: seal.hash, hashScheme: seal.scheme, hashSaltSealed: seal.saltSealed } : { hash: p.response.hash };
    const content = seal?.contentHash ? { contentHash: seal.contentHash, contentHashScheme: seal.scheme } : { contentHash: p.redacted.contentHash };
    const responseRedacted = { ...hash, chars: p.response.json.length, ...content, toolCalls: tooLarge ? [] : p.redacted.toolCalls };
    const data = { ...p.base, responseRedacted };
    if (tooLarge || !p.sealedAnswer) return { version: 4, data, omitted: tooLarge };
    const sealed = { ...data, sealedAnswer: p.sealedAnswer };
    return fits(sealed) ? { version: 5, data: sealed, omitted: false } : { version: 4, data, omitted: true };
  }
  const messages = p.messagesJson !== undefined && p.messagesJson.length <= MESSAGES_JSON_MAX ? { messagesJson: p.messagesJson } : {};
  if (p.response.json.length <= INFERENCE_RESPONSE_JSON_MAX) {
    const whole = { ...p.base, ...messages, responseJson: p.response.json };
    if (fits(whole)) return { version: estimated ? 3 : 1, data: whole, omitted: false };
    const lean = { ...p.base, responseJson: p.response.json };
    if (fits(lean)) return { version: estimated ? 3 : 1, data: lean, omitted: false };
  }
  const omitted = { ...p.base, responseOmitted: { hash: p.response.hash, chars: p.response.json.length, head: head(p.response.json, RESPONSE_HEAD_CHARS) } };
  const withMessages = { ...omitted, ...messages };
  return { version: estimated ? 3 : 2, data: fits(withMessages) ? withMessages : omitted, omitted: true };
}
