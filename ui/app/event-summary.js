// How each event type of a task's trail reads in the timeline: a category (for its colour and
// icon), one line of summary, and what the payload or redaction policy withheld.
import { formatCount, formatDuration, formatWei, short } from './format.js';

/** @typedef {{ category: string, summary: string, redacted?: string }} EventSummary */

const who = (/** @type {any} */ a) => (a ? `${a.kind} ${a.id}` : 'someone');

/**
 * What can be said of a task's answer that its log does not hold (LLM_REDACTION=hash-only): sealed
 * to its client's key (TaskCompleted v2 `sealedAnswer`), which only the client opens with its
 * private key, never the dashboard (the key is the client's alone); or not kept, named by its hash.
 * Undefined when the output holds the answer (`store`) or has none (a task of steps only).
 * @example answerNote('0193…', { answerHash: '0xa7c7…' }) // { sealed: false, answerHash: '0xa7c7…', text: 'answer not kept (hash-only): 0xa7c7…' }
 * @param {string} taskId @param {any} output the task's signed output @param {any} [sealedAnswer]
 * @returns {{ sealed: true, recipient: string, command: string, text: string } | { sealed: false, answerHash: string, text: string } | undefined}
 */
export function answerNote(taskId, output, sealedAnswer) {
  if (typeof sealedAnswer?.recipient === 'string') {
    const command = `openmcp tasks answer ${taskId} --key FILE`;
    return { sealed: true, recipient: sealedAnswer.recipient, command, text: `answer sealed to ${short(sealedAnswer.recipient)}; open it with ${command}` };
  }
  if (typeof output?.answerHash === 'string' && output.answer === undefined) return { sealed: false, answerHash: output.answerHash, text: `answer not kept (hash-only): ${short(output.answerHash)}` };
  return undefined;
}

/** @param {any} e an audit event (envelope) @returns {EventSummary} */
export function summarize(e) {
  const d = e.data ?? {};
  switch (e.type) {
    case 'TaskSubmitted':
      return { category: 'lifecycle', summary: `Submitted by ${who(e.actor)}${d.instruction ? `: “${d.instruction}”` : ''}${d.steps ? ` · ${formatCount(d.steps.length, 'explicit step')}` : ''}` };
    case 'TaskStarted':
      return { category: 'lifecycle', summary: `Started${d.worker ? ` by worker ${d.worker}` : ''}` };
    case 'TaskStepStarted':
      // A model's arguments are withheld by LLM_REDACTION as well as by MCP_PAYLOAD_POLICY: the event does not say which.
      return { category: 'tool', summary: `Step ${d.index}: call ${d.tool} (${d.source === 'llm' ? 'asked by the model' : 'explicit step'})`, redacted: d.argumentsJson === undefined ? `arguments withheld by the ${d.source === 'llm' ? 'payload or redaction' : 'payload'} policy (hash ${short(d.argumentsHash)})` : undefined };
    case 'TaskStepCompleted':
      return { category: d.isError ? 'error' : 'tool', summary: d.isError ? 'Step returned a tool error' : 'Step returned a result', redacted: d.resultJson === undefined ? `result withheld by the payload policy (hash ${short(d.resultHash)})` : undefined };
    case 'TaskStepFailed':
      return { category: 'error', summary: `Step failed: ${d.error?.code} — ${d.error?.message}` };
    case 'ToolCallRequested':
    case 'ToolCallCompleted':
    case 'ToolCallFailed': {
      // A tool's own error result (isError) arrives as ToolCallCompleted: it is a failure all the same.
      const failed = e.type === 'ToolCallFailed' || (e.type === 'ToolCallCompleted' && d.isError === true);
      const what = e.type === 'ToolCallRequested' ? 'requested' : e.type === 'ToolCallFailed' ? 'failed' : d.isError === true ? 'returned a tool error' : 'completed';
      return { category: failed ? 'error' : 'tool', summary: `Tool call ${what}: ${d.server}__${d.tool}${d.latencyUs !== undefined ? ` in ${formatDuration(d.latencyUs / 1000)}` : ''}${e.type === 'ToolCallFailed' && d.error ? ` — ${d.error.code}: ${d.error.message}` : ''}` };
    }
    case 'InferenceCompleted': {
      const r = d.responseRedacted;
      // A salted hash (MCP_PAYLOAD_POLICY=encrypted: v7 the answer's, v8 the prompt's too) is no SHA-256: its scheme says so.
      const prompt = `${typeof d.promptHashScheme === 'string' ? `${d.promptHashScheme} ` : ''}${short(d.promptHash)}`;
      const answer = r ? `${typeof r.hashScheme === 'string' ? `${r.hashScheme} ` : ''}${short(r.hash)}` : '';
      const calls = r?.toolCalls?.length ? ` · asked for ${r.toolCalls.map((/** @type {any} */ c) => c.name ?? 'an unknown tool').join(', ')}` : '';
      return {
        category: 'inference',
        summary: `Model ${d.model} turn ${d.turn}: ${formatCount(d.usage?.totalTokens ?? 0, 'token')} in ${formatDuration(d.latencyMs)}, finished by ${d.finishReason}${d.cached ? ' (cached)' : ''}${calls}`,
        redacted: r
          ? `prompt and answer withheld by the redaction policy (hash-only; prompt hash ${prompt}, answer hash ${answer})${typeof d.sealedAnswer?.recipient === 'string' ? `; the answer kept sealed to ${short(d.sealedAnswer.recipient)}` : ''}`
          : d.redaction === 'hash-only' ? `prompt messages withheld by the redaction policy (hash-only; prompt hash ${prompt})` : undefined,
      };
    }
    case 'PolicyEvaluated':
      // The entry and (v2) its version: an auditor matches the decision to the file it was made under.
      return {
        category: d.decision === 'deny' ? 'error' : 'policy',
        summary: `Policy ${d.decision.replace('_', ' ')}: ${d.subject} ${d.tool} — rule ${d.rule}${d.reason ? `: ${d.reason}` : ''} (entry ${d.policy}${d.policyHash ? `, version ${short(d.policyHash)}` : ''})`,
      };
    case 'ApprovalRequested':
      return { category: 'approval', summary: `Waiting for a human approval (rule ${d.rule}) of proposal ${short(d.proposalHash)}` };
    case 'ApprovalGiven':
      return { category: 'approval', summary: `Approved by ${who(e.actor)} (${d.given} of ${d.required} approvers): proposal ${short(d.proposalHash)}${d.comment ? ` — “${d.comment}”` : ''}` };
    case 'ApprovalRequirementChanged': {
      const asks = (/** @type {any} */ q) => `${q?.required === 1 ? 'one approver' : `${q?.required} distinct approvers`}${q?.selfApproval === false ? ", not the submitter" : ''}`;
      const standing = d.approvers?.length ? ` · approvals that stand: ${d.approvers.map((/** @type {any} */ a) => a.id).join(', ')}` : '';
      return { category: 'approval', summary: `Policy changed while waiting: proposal ${short(d.proposalHash)} now needs ${asks(d.approvals)} (was ${asks(d.previous)}, policy ${d.policy}, rule ${d.rule})${standing}${d.reopened ? ' — its approval no longer releases it: it waits again' : ''}` };
    }
    case 'ApprovalGranted':
      return { category: 'approval', summary: `Approved by ${who(e.actor)}: proposal ${short(d.proposalHash)}${d.comment ? ` — “${d.comment}”` : ''}` };
    case 'ApprovalRejected':
      return { category: 'error', summary: `Rejected by ${who(e.actor)}: proposal ${short(d.proposalHash)}${d.comment ? ` — “${d.comment}”` : ''}` };
    case 'TransactionSubmitted':
      return { category: 'transaction', summary: `Transaction ${short(d.txHash)} sent: ${d.method} on ${short(d.to)} (chain ${d.chainId}), value ${formatWei(d.value)}, gas limit ${formatCount(Number(d.gasLimit))} gas, nonce ${d.nonce}` };
    case 'TransactionConfirmed':
      return { category: d.status === 'success' ? 'transaction' : 'error', summary: `Transaction ${short(d.txHash)} ${d.status === 'success' ? 'mined' : 'reverted'} in block ${formatCount(d.blockNumber)}, ${formatCount(Number(d.gasUsed))} gas used` };
    case 'TaskCompleted':
      return { category: 'done', summary: `Completed${d.signer ? `, output signed by ${short(d.signer)}` : ''}`, redacted: answerNote(String(e.stream ?? '').replace(/^task-/, ''), d.output, d.sealedAnswer)?.text };
    case 'TaskFailed':
      return { category: 'error', summary: `Failed: ${d.error?.code} — ${d.error?.message}` };
    case 'TaskCancelled':
      return { category: 'error', summary: `Cancelled${d.reason ? `: ${d.reason}` : ''}` };
    default:
      return { category: 'other', summary: e.type };
  }
}
