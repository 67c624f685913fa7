import type { ToolCallView } from '../readmodels/port';
import { openSealed, payloadAad, type SealedPayload } from './sealed-payload';
import type { SubjectKeyStore } from './subject-key-store';

/**
 * A tool call's view as the API shows it: payloads recorded encrypted (MCP_PAYLOAD_POLICY=encrypted)
 * opened with their subject's key into `arguments` / `result`, or, once the key is erased (or
 * unknown here, or the ciphertext does not open with it), marked `argumentsErased` /
 * `resultErased` with the hashes still shown. The sealed envelopes never leave.
 * @example await openToolCallView(keys, await readModels.getToolCall(tenant, id))
 */
export async function openToolCallView(keys: SubjectKeyStore | undefined, view: ToolCallView): Promise<ToolCallView> {
  const { argumentsSealed, resultSealed, ...v } = view;
  if (argumentsSealed) {
    const json = await opened(keys, argumentsSealed, payloadAad(view.id, 'arguments'));
    if (json === undefined) v.argumentsErased = true;
    else v.arguments = JSON.parse(json);
  }
  if (resultSealed) {
    const json = await opened(keys, resultSealed, payloadAad(view.id, 'result'));
    if (json === undefined) v.resultErased = true;
    else v.result = JSON.parse(json);
  }
  return v;
}

/** The JSON text of `sealed`, or undefined when it cannot be opened here (key erased, unknown, or not the one it was sealed with). */
export async function opened(keys: SubjectKeyStore | undefined, sealed: SealedPayload, aad: string): Promise<string | undefined> {
  const key = await keys?.keyById(sealed.kid);
  if (!key) return undefined;
  try {
    return openSealed(key, sealed, aad);
  } catch {
    // A key that does not open it (not the one it was sealed with): as unreadable as an erased one.
    return undefined;
  }
}
