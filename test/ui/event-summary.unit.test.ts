import { expect } from 'chai';

// ui/app is plain ES modules (ui/package.json: type module): the very file the dashboard serves.
type Summary = { category: string; summary: string; redacted?: string };
// A path held in a string: tsc does not look for types of a browser module it would not compile.
const MODULE: string = '../../ui/app/event-summary.js';
const load = async () => (await import(MODULE)) as { summarize(e: unknown): Summary };

const call = { toolCallId: '01937a6e-7f00-7000-8000-000000000002', serverId: 's1', server: 'evil', tool: 'grab', latencyUs: 51_300 };

describe('dashboard timeline: how a tool call reads', () => {
  it('marks a tool-level error result (ToolCallCompleted with isError) as a failure, not a success', async () => {
    const { summarize } = await load();
    const ok = summarize({ type: 'ToolCallCompleted', data: { ...call, isError: false } });
    const bad = summarize({ type: 'ToolCallCompleted', data: { ...call, isError: true } });
    expect(ok).to.deep.equal({ category: 'tool', summary: 'Tool call completed: evil__grab in 51.3 ms' });
    expect(bad.category).to.equal('error');
    expect(bad.summary).to.equal('Tool call returned a tool error: evil__grab in 51.3 ms');
  });

  it("names why a call got no answer (ToolCallFailed's error code and message)", async () => {
    const { summarize } = await load();
    const s = summarize({ type: 'ToolCallFailed', data: { ...call, error: { code: 'MCP_TIMEOUT', message: 'no answer in 30 s' } } });
    expect(s).to.deep.equal({ category: 'error', summary: 'Tool call failed: evil__grab in 51.3 ms — MCP_TIMEOUT: no answer in 30 s' });
    expect(summarize({ type: 'ToolCallRequested', data: { ...call, latencyUs: undefined } }).summary).to.equal('Tool call requested: evil__grab');
  });
});

describe('dashboard timeline: approvals by several approvers', () => {
  it('an ApprovalGiven reads as one approval of several, not as the release', async () => {
    const { summarize } = await load();
    const s = summarize({ type: 'ApprovalGiven', actor: { kind: 'user', id: 'bob' }, data: { proposalHash: `0x${'ab'.repeat(32)}`, approver: { kind: 'user', id: 'bob' }, given: 1, required: 2 } });
    expect(s.category).to.equal('approval');
    expect(s.summary).to.match(/^Approved by .*bob.* \(1 of 2 approvers\): proposal /);
  });

  it('an ApprovalRequirementChanged says what the policy asks now, what it asked, whose approvals stand, and a reopened release', async () => {
    const { summarize } = await load();
    const s = summarize({
      type: 'ApprovalRequirementChanged',
      actor: { kind: 'agent', id: 'worker' },
      data: { stepId: 'step-0', proposalHash: `0x${'ab'.repeat(32)}`, approvals: { required: 2, selfApproval: false, requestedBy: { kind: 'user', id: 'alice' } }, previous: { required: 1, selfApproval: true }, approvers: [{ kind: 'user', id: 'bob' }], reopened: true, rule: 'method.approvalAbove', policy: 'acme/*' },
    });
    expect(s.category).to.equal('approval');
    expect(s.summary).to.match(/now needs 2 distinct approvers, not the submitter \(was one approver, policy acme\/\*, rule method\.approvalAbove\) · approvals that stand: bob — its approval no longer releases it: it waits again$/);
  });
});

describe('dashboard timeline: a model turn under LLM_REDACTION=hash-only', () => {
  const h = (c: string) => `0x${c.repeat(64)}`;
  const turn = { turn: 1, provider: 'p', model: 'm', promptHash: h('1'), redaction: 'hash-only', finishReason: 'tool_calls', usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 }, latencyMs: 20, cached: false, knowledgeChunks: [], tools: ['crm__lookup'] };

  it('says the prompt and the answer are withheld, naming both hashes, and which offered tools it asked for', async () => {
    const { summarize } = await load();
    const s = summarize({ type: 'InferenceCompleted', version: 4, data: { ...turn, responseRedacted: { hash: h('2'), chars: 90, contentHash: h('3'), toolCalls: [{ id: 'c1', name: 'crm__lookup' }, { id: 'c2' }] } } });
    expect(s.category).to.equal('inference');
    expect(s.summary).to.match(/turn 1: 15 tokens .* finished by tool_calls · asked for crm__lookup, an unknown tool$/);
    expect(s.redacted).to.match(/^prompt and answer withheld by the redaction policy \(hash-only; prompt hash 0x1111.*, answer hash 0x2222.*\)$/);
  });

  it("a turn whose hashes are salted (v7 the answer's, v8 the prompt's too: MCP_PAYLOAD_POLICY=encrypted) names each salted hash's scheme, and the plain ones stay as they read", async () => {
    const { summarize } = await load();
    const salt = { alg: 'A256GCM', kid: 'k', iv: `0x${'a'.repeat(24)}`, ct: `0x${'b'.repeat(132)}`, tag: `0x${'c'.repeat(32)}` };
    const responseRedacted = { hash: h('2'), hashScheme: 'hmac-sha256-salted-v1', hashSaltSealed: salt, chars: 90, contentHash: h('3'), toolCalls: [{ id: 'c1', name: 'crm__lookup' }] };
    const v8 = summarize({ type: 'InferenceCompleted', version: 8, data: { ...turn, promptHashScheme: 'hmac-sha256-salted-v1', promptHashSaltSealed: salt, responseRedacted } });
    expect(v8.redacted).to.match(/^prompt and answer withheld by the redaction policy \(hash-only; prompt hash hmac-sha256-salted-v1 0x1111.*, answer hash hmac-sha256-salted-v1 0x2222.*\)$/);
    const v7 = summarize({ type: 'InferenceCompleted', version: 7, data: { ...turn, responseRedacted } });
    expect(v7.redacted).to.match(/\(hash-only; prompt hash 0x1111.*, answer hash hmac-sha256-salted-v1 0x2222.*\)$/);
  });

  it('a final turn that keeps its answer sealed (v5) names the key it is sealed to', async () => {
    const { summarize } = await load();
    const sealedAnswer = { scheme: 'ecies-secp256k1-hkdf-sha256-aes-256-gcm', recipient: `0x02${'5'.repeat(64)}`, ephemeralPublicKey: `0x03${'6'.repeat(64)}`, nonce: `0x${'7'.repeat(24)}`, ciphertext: '0x88', tag: `0x${'9'.repeat(32)}` };
    const s = summarize({ type: 'InferenceCompleted', version: 5, data: { ...turn, finishReason: 'stop', responseRedacted: { hash: h('2'), chars: 90, contentHash: h('3'), toolCalls: [] }, sealedAnswer } });
    expect(s.redacted).to.match(/^prompt and answer withheld by the redaction policy \(hash-only; .*\); the answer kept sealed to 0x0255/);
  });

  it('a model-asked step without its arguments may be either policy', async () => {
    const { summarize } = await load();
    const s = summarize({ type: 'TaskStepStarted', data: { stepId: 'turn-1-c1', index: 0, tool: 'crm__lookup', argumentsHash: h('4'), source: 'llm', idempotent: false } });
    expect(s.redacted).to.match(/^arguments withheld by the payload or redaction policy \(hash 0x4444/);
  });
});

describe("dashboard: a task's answer under LLM_REDACTION=hash-only", () => {
  const h = (c: string) => `0x${c.repeat(64)}`;
  const id = '019b0c5e-7a1d-7c3e-8f00-5e41ed000001';
  const recipient = `0x02${'ab'.repeat(31)}cd`;
  const sealedAnswer = { scheme: 'ecies-secp256k1-hkdf-sha256-aes-256-gcm', recipient, ephemeralPublicKey: `0x03${'11'.repeat(32)}`, nonce: `0x${'22'.repeat(12)}`, ciphertext: '0x3344', tag: `0x${'55'.repeat(16)}` };
  const completed = (data: Record<string, unknown>) => ({ type: 'TaskCompleted', stream: `task-${id}`, data: { outputHash: h('9'), signer: `0x${'77'.repeat(20)}`, signature: '0x', ...data } });
  const loadNote = async () => (await import(MODULE)) as { summarize(e: unknown): Summary; answerNote(id: string, output: unknown, sealed?: unknown): { text: string } | undefined };

  it('a sealed answer: to whom (shortened), and the command that opens it with the private key; nothing of the ciphertext', async () => {
    const { summarize, answerNote } = await loadNote();
    const s = summarize(completed({ output: { answerHash: h('a') }, sealedAnswer }));
    expect(s.category).to.equal('done');
    expect(s.redacted).to.equal(`answer sealed to 0x02abab…ababcd; open it with openmcp tasks answer ${id} --key FILE`);
    expect(answerNote(id, { answerHash: h('a') }, sealedAnswer)).to.deep.include({ sealed: true, recipient, command: `openmcp tasks answer ${id} --key FILE` });
  });

  it('hash-only without a seal: the answer is not kept, named by its hash (shortened)', async () => {
    const { summarize } = await loadNote();
    expect(summarize(completed({ output: { answerHash: h('a') } })).redacted).to.equal('answer not kept (hash-only): 0xaaaaaa…aaaaaa');
  });

  it('nothing to say when the output holds the answer (store) or has none (steps only)', async () => {
    const { summarize, answerNote } = await loadNote();
    expect(summarize(completed({ output: { answer: 'hello' } })).redacted).to.equal(undefined);
    expect(summarize(completed({ output: { steps: [] } })).redacted).to.equal(undefined);
    expect(answerNote(id, undefined)).to.equal(undefined);
  });
});

describe('dashboard timeline: which policy decided', () => {
  it('a PolicyEvaluated names the entry that decided and, from v2, its version (policyHash), as an auditor needs', async () => {
    const { summarize } = await load();
    const base = { stepId: 'step-0', subject: 'tool', tool: 'examples__now', decision: 'deny', rule: 'tools.deny', reason: 'tool examples__now matches deny pattern examples__now', policy: 'acme/*' };
    const v2 = summarize({ type: 'PolicyEvaluated', version: 2, data: { ...base, policyHash: `0x1ff4${'0'.repeat(54)}f851` } });
    expect(v2.summary).to.equal('Policy deny: tool examples__now — rule tools.deny: tool examples__now matches deny pattern examples__now (entry acme/*, version 0x1ff400…00f851)');
    const v1 = summarize({ type: 'PolicyEvaluated', version: 1, data: { ...base, policy: 'default' } });
    expect(v1.summary).to.match(/\(entry default\)$/);
  });
});
