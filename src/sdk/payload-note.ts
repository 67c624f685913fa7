/**
 * What can be said of a tool call's arguments or result: `shown` (recorded), `erased` (recorded
 * encrypted, its subject's key erased since), `hashOnly` (answered, only the hash kept), `pending`
 * (no answer yet), `none` (the call failed: no result).
 */
export type PayloadState = 'shown' | 'erased' | 'hashOnly' | 'pending' | 'none';
export type PayloadPart = 'arguments' | 'result';
/** The fields of a tool call (GET /v1/tool-calls/:id) the decision reads. */
export type PayloadFields = {
  status: string;
  arguments?: unknown;
  result?: unknown;
  argumentsHash?: string;
  resultHash?: string;
  argumentsErased?: boolean;
  resultErased?: boolean;
};

/**
 * The state of `part` in a call as GET /v1/tool-calls/:id answers it. The dashboard's twin is
 * payloadState in ui/app/tool-calls.js (browser code, no build step: a test keeps them equal).
 * @example payloadState({ status: 'completed', argumentsHash: '0x…' }, 'arguments') // 'hashOnly'
 */
export function payloadState(c: PayloadFields, part: PayloadPart): PayloadState {
  if (c[part] !== undefined) return 'shown';
  if (c[`${part}Erased`] === true) return 'erased';
  if (c[`${part}Hash`]) return 'hashOnly';
  if (part === 'result' && c.status === 'requested') return 'pending';
  return 'none';
}

/**
 * Why a payload is not shown, as `openmcp tool-calls show` and the dashboard say it (twin:
 * payloadNote in ui/app/tool-calls.js). Kept by its hash only names every reason it can be: the
 * view does not say which (a gateway under MCP_PAYLOAD_POLICY=encrypted keeps hashes only too,
 * for payloads over 256 KiB and for a model's arguments under LLM_REDACTION=hash-only).
 * @example payloadNote('hashOnly', 'arguments') // 'Not recorded, only its hash: MCP_PAYLOAD_POLICY=hash-only, …'
 */
export function payloadNote(state: Exclude<PayloadState, 'shown'>, part: PayloadPart): string {
  switch (state) {
    case 'erased':
      return "Erased, only its hash: recorded encrypted (MCP_PAYLOAD_POLICY=encrypted), and the subject's key has been deleted since.";
    case 'hashOnly':
      return 'Not recorded, only its hash: MCP_PAYLOAD_POLICY=hash-only, more than 256 KiB of JSON, or arguments a model wrote under LLM_REDACTION=hash-only.';
    case 'pending':
      return 'No answer yet.';
    case 'none':
      return part === 'result' ? 'None: the call got no answer.' : 'Not recorded.';
  }
}
