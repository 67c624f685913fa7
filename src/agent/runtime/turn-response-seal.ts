import { openedSalt } from '../../erasure/opened';
import { newPayloadSalt, saltedPayloadHash } from '../../erasure/salted-hash';
import type { Hex } from '../../core/hex';
import { sealSaltOnly, turnPromptAad, turnResponseAad, type SaltOnlySeal } from '../../erasure/sealed-payload';
import type { SubjectKey } from '../../erasure/subject-key-store';
import type { SubjectKeyStore } from '../../erasure/subject-key-store';
import type { RedactedTurn } from './llm-redaction';

/** A turn's response seal (sealTurnResponse): with `contentHash`, its text's hash under the same salt. */
export type TurnResponseSeal = SaltOnlySeal & { contentHash?: Hex };

/**
 * The salted hash a redacted turn of task `taskId` records under MCP_PAYLOAD_POLICY=encrypted
 * (InferenceCompleted v7), over `json` (the assistant message's canonical JSON), with a fresh salt
 * sealed alone under `key`, the submitter's: erased with it, after which the hash confirms no guess.
 * Given `contentJson` (the canonical JSON of the text of a turn that asked for tool calls), its
 * hash under the same salt too (v8 `contentHashScheme`); never for a final turn, whose text's plain
 * SHA-256 is the task's answerHash.
 * @example inferenceRecord({ …, responseSeal: sealTurnResponse(key, taskId, 0, payloadDigest(message).json) })
 */
export function sealTurnResponse(key: SubjectKey, taskId: string, turn: number, json: string, contentJson?: string): TurnResponseSeal {
  const salt = newPayloadSalt();
  const seal = sealSaltOnly(key.key, key.kid, json, turnResponseAad(taskId, turn), salt);
  return contentJson === undefined ? seal : { ...seal, contentHash: saltedPayloadHash(salt, contentJson) };
}

/**
 * The salted promptHash a redacted turn of task `taskId` records under MCP_PAYLOAD_POLICY=encrypted
 * (InferenceCompleted v8), over `json` (the canonical JSON of {model, messages, tools, temperature,
 * maxTokens}: promptDigest), with a fresh salt of its own sealed alone under `key`, the submitter's.
 * @example inferenceRecord({ …, promptSeal: sealTurnPrompt(key, taskId, 1, r.promptJson) })
 */
export function sealTurnPrompt(key: SubjectKey, taskId: string, turn: number, json: string): SaltOnlySeal {
  return sealSaltOnly(key.key, key.kid, json, turnPromptAad(taskId, turn));
}

/**
 * Whether `response` (a message's payloadDigest) is the one turn `turn` of task `taskId` recorded
 * in `redacted`: its plain SHA-256, or, for a salted hash (v7), the HMAC under the salt opened with
 * `keys`. False when that salt cannot be opened (the key erased): nothing then says it is the same.
 */
export async function isRecordedResponse(keys: SubjectKeyStore | undefined, taskId: string, turn: number, redacted: RedactedTurn, response: { json: string; hash: string }): Promise<boolean> {
  if (!redacted.hashSaltSealed) return response.hash === redacted.hash;
  const salt = await openedSalt(keys, redacted.hashSaltSealed, turnResponseAad(taskId, turn));
  return salt !== undefined && saltedPayloadHash(salt, response.json) === redacted.hash;
}
