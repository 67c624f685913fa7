import { openedPayload, openedSalt, type OpenedPayload } from '../erasure/opened';
import { payloadAad } from '../erasure/sealed-payload';
import type { SubjectKeyStore } from '../erasure/subject-key-store';
import type { ToolCallView } from './port';

/**
 * A tool call's view as the API shows it: payloads recorded encrypted (MCP_PAYLOAD_POLICY=encrypted)
 * opened with their subject's key into `arguments` / `result` (with, for those sealed with their
 * salt, `argumentsSalt`: what checks the payload against its hash, named by `argumentsHashScheme`),
 * or, once the key is erased (or unknown here, or the ciphertext does not open with it), marked
 * `argumentsErased` / `resultErased` with the hashes still shown, and their scheme where the event
 * names one. A payload kept by hash only shows the salt sealed alone for it while the key opens it.
 * The sealed envelopes never leave.
 * @example await openToolCallView(keys, await readModels.getToolCall(tenant, id))
 */
export async function openToolCallView(keys: SubjectKeyStore | undefined, view: ToolCallView): Promise<ToolCallView> {
  const { argumentsSealed, resultSealed, argumentsSaltSealed, resultSaltSealed, errorSaltSealed, ...v } = view;
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
  // Kept by hash only (v4): the salt alone, gone with the key (the scheme stays, as the event names it).
  if (argumentsSaltSealed) {
    const salt = await openedSalt(keys, argumentsSaltSealed, payloadAad(view.id, 'arguments'));
    if (salt) v.argumentsSalt = salt;
  }
  if (resultSaltSealed) {
    const salt = await openedSalt(keys, resultSaltSealed, payloadAad(view.id, 'result'));
    if (salt) v.resultSalt = salt;
  }
  if (errorSaltSealed) {
    const salt = await openedSalt(keys, errorSaltSealed, payloadAad(view.id, 'error'));
    if (salt) v.errorSalt = salt;
  }
  return v;
}

/** `<field>HashScheme` and `<field>Salt` of a payload opened with its salt; nothing for one sealed bare (its hash the plain SHA-256). */
export function saltOf<F extends string>(p: OpenedPayload, field: F): Record<string, string> {
  return p.salt && p.scheme ? { [`${field}HashScheme`]: p.scheme, [`${field}Salt`]: p.salt } : {};
}
