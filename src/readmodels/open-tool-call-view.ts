import { opened } from '../erasure/opened';
import { payloadAad } from '../erasure/sealed-payload';
import type { SubjectKeyStore } from '../erasure/subject-key-store';
import type { ToolCallView } from './port';

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
