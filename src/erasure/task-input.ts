import { canonicalJson } from '../core/canonical';
import { sha256Utf8Hex } from '../core/hash';
import type { Hex } from '../core/hex';
import { openedPayload } from './opened';
import type { PayloadHashScheme } from './salted-hash';
import { sealSaltedPayload, type SealedPayload } from './sealed-payload';
import type { SubjectKeyStore } from './subject-key-store';

/** An explicit step as a client gives it. */
export type PlainTaskStep = { tool: string; arguments?: Record<string, unknown> };
/**
 * An explicit step as TaskSubmitted v3 and v4 keep it: its arguments sealed, their hash beside
 * them: the plain SHA-256 (v3), or salted (v4, `argumentsHashScheme`; the salt inside the seal).
 */
export type SealedTaskStep = { tool: string; argumentsHash: Hex; argumentsHashScheme?: PayloadHashScheme; argumentsSealed: SealedPayload };

/** A task's input as TaskSubmitted keeps it: in clear (v1, v2) or sealed (v3). */
export type RecordedTaskInput = {
  instruction?: string;
  instructionHash?: string;
  /** v4: instructionHash is salted (its salt inside instructionSealed). */
  instructionHashScheme?: PayloadHashScheme;
  instructionSealed?: SealedPayload;
  steps?: (PlainTaskStep | SealedTaskStep)[];
};

/** What opening a recorded input gave: the plaintext, or `erased` when a sealed part could not be opened. */
export type OpenedTaskInput = { instruction?: string; steps?: PlainTaskStep[]; erased: boolean };

/** Where a task's input is kept: the additional data its seal is bound to. */
export function taskInputAad(taskId: string, field: 'instruction' | { step: number }): string {
  return typeof field === 'string' ? `task-${taskId}/instruction` : `task-${taskId}/steps/${field.step}/arguments`;
}

export const isSealedStep = (s: PlainTaskStep | SealedTaskStep): s is SealedTaskStep => 'argumentsSealed' in s;

/** Whether a recorded input holds a salted hash (TaskSubmitted v4): compared only once opened, as its salts are inside the seals. */
export function hasSaltedHash(input: RecordedTaskInput): boolean {
  return input.instructionHashScheme !== undefined || (input.steps ?? []).some((s) => isSealedStep(s) && s.argumentsHashScheme !== undefined);
}

/**
 * Seal a task's instruction and each explicit step's arguments under `subject`'s data key
 * (MCP_PAYLOAD_POLICY=encrypted), bound to the task `taskId`, each with a fresh salt inside
 * (TaskSubmitted v4). Hashes are salted, over the plaintext's canonical JSON (the instruction's is
 * a JSON string): whoever opens the input can check them, and after erasure none confirms a guess.
 * @example await sealTaskInput(keys, 'acme:user:0193…', taskId, { instruction: 'pay Alice' })
 */
export async function sealTaskInput(keys: SubjectKeyStore, subject: string, taskId: string, input: { instruction?: string; steps?: PlainTaskStep[] }): Promise<RecordedTaskInput> {
  const k = await keys.keyFor(subject);
  const out: RecordedTaskInput = {};
  if (input.instruction !== undefined) {
    const json = canonicalJson(input.instruction);
    const s = sealSaltedPayload(k.key, k.kid, json, taskInputAad(taskId, 'instruction'));
    Object.assign(out, { instructionHash: s.hash, instructionHashScheme: s.scheme, instructionSealed: s.sealed });
  }
  if (input.steps !== undefined) {
    out.steps = input.steps.map((s, i) => {
      const json = canonicalJson(s.arguments ?? {});
      const sealed = sealSaltedPayload(k.key, k.kid, json, taskInputAad(taskId, { step: i }));
      return { tool: s.tool, argumentsHash: sealed.hash, argumentsHashScheme: sealed.scheme, argumentsSealed: sealed.sealed };
    });
  }
  return out;
}

/**
 * A task input with every part replaced by its plain SHA-256, sealed or not: two submissions of
 * the same input compare equal this way whether either was sealed (an Idempotency-Key retry is
 * matched over the plaintext, never over ciphertexts, which differ each time). Requires an input
 * with no salted hash (hasSaltedHash): those are keyed by a salt each, so open it first.
 */
export function taskInputDigest(input: RecordedTaskInput): { instructionHash?: string; steps?: { tool: string; argumentsHash: string }[] } {
  const out: { instructionHash?: string; steps?: { tool: string; argumentsHash: string }[] } = {};
  if (input.instructionHash !== undefined) out.instructionHash = input.instructionHash;
  else if (input.instruction !== undefined) out.instructionHash = sha256Utf8Hex(canonicalJson(input.instruction));
  if (input.steps !== undefined) {
    out.steps = input.steps.map((s) => ({ tool: s.tool, argumentsHash: isSealedStep(s) ? s.argumentsHash : sha256Utf8Hex(canonicalJson(s.arguments ?? {})) }));
  }
  return out;
}

/**
 * Open a recorded task input with its subject's keys: the plaintext, or `erased: true` with the
 * parts that could not be opened left out (the key erased, unknown here, or not the one it was
 * sealed with). An input kept in clear comes back as it is.
 */
export async function openTaskInput(keys: SubjectKeyStore | undefined, taskId: string, input: RecordedTaskInput): Promise<OpenedTaskInput> {
  const out: OpenedTaskInput = { erased: false };
  if (input.instruction !== undefined) out.instruction = input.instruction;
  if (input.instructionSealed) {
    const json = (await openedPayload(keys, input.instructionSealed, taskInputAad(taskId, 'instruction')))?.json;
    if (json === undefined) out.erased = true;
    else out.instruction = JSON.parse(json) as string;
  }
  if (input.steps !== undefined) {
    out.steps = [];
    for (const [i, s] of input.steps.entries()) {
      if (!isSealedStep(s)) {
        out.steps.push(s);
        continue;
      }
      const json = (await openedPayload(keys, s.argumentsSealed, taskInputAad(taskId, { step: i })))?.json;
      if (json === undefined) {
        out.erased = true;
        out.steps.push({ tool: s.tool });
      } else out.steps.push({ tool: s.tool, arguments: JSON.parse(json) as Record<string, unknown> });
    }
  }
  return out;
}
