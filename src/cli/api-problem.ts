/**
 * The API's error answer (RFC 9457 problem with our `code`), saved by `curl … > file` in place of
 * the proof or export the file was meant to hold: `CODE: detail`, else undefined. A proof file has
 * a `format` and an export a `batch` or is an array, so neither is taken for one.
 * @example apiProblemIn({ status: 409, code: 'PROOF_PENDING', detail: 'not anchored yet' }) === 'PROOF_PENDING: not anchored yet'
 */
export function apiProblemIn(json: unknown): string | undefined {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const p = json as { code?: unknown; detail?: unknown; format?: unknown; batch?: unknown };
  if (p.format !== undefined || p.batch !== undefined || typeof p.code !== 'string') return undefined;
  return `${p.code}${typeof p.detail === 'string' ? `: ${p.detail}` : ''}`;
}
