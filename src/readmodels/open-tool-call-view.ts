import { openedPayload, type OpenedPayload } from '../erasure/opened';
import { payloadAad } from '../erasure/sealed-payload';
import type { SubjectKeyStore } from '../erasure/subject-key-store';
import type { ToolCallView } from './port';

/**
 * A tool call's view as the API shows it: payloads recorded encrypted (MCP_PAYLOAD_POLICY=encrypted)
 * opened with their subject's key into `arguments` / `result` (with, for those sealed with their
 * salt, `argumentsHashScheme` and `argumentsSalt`: what checks the payload against its hash), or,
 * once the key is erased (or unknown here, or the ciphertext does not open with it), marked
 * `argumentsErased` / `resultErased` with the hashes still shown. The sealed envelopes never leave.
 * @example await openToolCallView(keys, await readModels.getToolCall(tenant, id))
 */
export async function openToolCallView(keys: SubjectKeyStore | undefined, view: ToolCallView): Promise<ToolCallView> {
  const { argumentsSealed, resultSealed, ...v } = view;
  if (argumentsSealed) {
    const p = await openedPayload(keys, argumentsSealed, payloadAad(view.id, 'arguments'));
    if (p === undefined) v.argumentsErased = true;
    else Object.assign(v, { arguments: JSON.parse(p.json) }, saltOf(p, 'arguments'));
  }
  if (resultSealed) {
    const p = await openedPayload(keys, resultSealed, payloadAad(view.id, 'result'));
    if (p === undefined) v.resultErased = true;
    else Object.assign(v, { result: JSON.parse(p.json) }, saltOf(p, 'result'));
  }
  return v;
}

/** `<field>HashScheme` and `<field>Salt` of a payload opened with its salt; nothing for one sealed bare (its hash the plain SHA-256). */
export function saltOf<F extends string>(p: OpenedPayload, field: F): Record<string, string> {
  return p.salt && p.scheme ? { [`${field}HashScheme`]: p.scheme, [`${field}Salt`]: p.salt } : {};
}
