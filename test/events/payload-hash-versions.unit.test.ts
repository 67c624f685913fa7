/**
 * ToolCallRequested v3, ToolCallCompleted v3, TaskSubmitted v4, TaskStepStarted v2 and
 * TaskStepCompleted v2 (salted payload hashes, 2026-12-11): every earlier version "reads as" the
 * new one "as it is" (identity upcasters, docs/events.md), so the new version's schema must take
 * what the earlier versions hold, as McpServerRegistered's later versions do
 * (mcp-server-versions.unit.test.ts). Otherwise `catalog.upcast` hands a TypeScript consumer
 * (docs/consumers.md, "Versions") data its latest type and JSON Schema refuse: a `store` call's
 * `argumentsJson`, `payloadPolicy: "store"`, a v3 task's sealed steps without a scheme.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { catalog } from '../../events';
import { createEvent } from '../../src/core/envelope';
import { PAYLOAD_HASH_SCHEME } from '../../src/erasure/salted-hash';
import { payloadAad, sealPayload, sealSaltedPayload, sealSaltOnly } from '../../src/erasure/sealed-payload';
import { taskInputAad } from '../../src/erasure/task-input';
import { indexedRef, kidRef, subjectRefs } from '../../projections/subject-events.projection';

const validator = new AjvJsonSchemaValidator();
const exported = (type: string, version: number) => {
  const { $schema: _draft, ...schema } = JSON.parse(readFileSync(join(__dirname, '../../events/schema', `${type}.v${version}.json`), 'utf8')) as Record<string, unknown>;
  const check = validator.getValidator(schema as never);
  return (data: unknown) => check(data).valid;
};

const key = randomBytes(32);
const kid = '0193a000-0000-7000-8000-0000000000aa';
const callId = '0193a000-0000-7000-8000-000000000001';
const taskId = '0193a000-0000-7000-8000-000000000002';
const h = `0x${'ab'.repeat(32)}`;
const ref = { serverId: 's1', server: 'remote', tool: 'echo', taskId };
const bare = (aad: string) => sealPayload(key, kid, '{"text":"hi"}', aad);
const salted = (aad: string) => sealSaltedPayload(key, kid, '{"text":"hi"}', aad);

/** Events of each earlier version, as the product writes them. */
const older: [string, number, Record<string, unknown>][] = [
  ['ToolCallRequested', 1, { ...ref, argumentsHash: h, argumentsJson: '{"text":"hi"}', payloadPolicy: 'store' }],
  ['ToolCallRequested', 1, { ...ref, argumentsHash: h, payloadPolicy: 'hash-only' }],
  ['ToolCallRequested', 2, { ...ref, argumentsHash: h, payloadPolicy: 'encrypted' }],
  ['ToolCallRequested', 2, { ...ref, argumentsHash: h, payloadPolicy: 'encrypted', argumentsSealed: bare(payloadAad(callId, 'arguments')) }],
  ['ToolCallCompleted', 1, { ...ref, resultHash: h, resultJson: '{"content":[]}', isError: false, cached: false, latencyUs: 12 }],
  ['ToolCallCompleted', 2, { ...ref, resultHash: h, resultSealed: bare(payloadAad(callId, 'result')), isError: false, cached: true, latencyUs: 12 }],
  ['ToolCallRequested', 3, { ...ref, argumentsHash: h, argumentsHashScheme: PAYLOAD_HASH_SCHEME, argumentsSealed: salted(payloadAad(callId, 'arguments')).sealed, payloadPolicy: 'encrypted' }],
  ['ToolCallCompleted', 3, { ...ref, resultHash: h, resultHashScheme: PAYLOAD_HASH_SCHEME, resultSealed: salted(payloadAad(callId, 'result')).sealed, isError: false, cached: false, latencyUs: 12 }],
  ['ToolCallFailed', 1, { ...ref, error: { code: 'MCP_UPSTREAM_ERROR', message: `-32602: upstream error message withheld (MCP_PAYLOAD_POLICY=hash-only), sha256 ${h}` }, latencyUs: 12 }],
  ['TaskSubmitted', 1, { instruction: 'pay Alice', steps: [{ tool: 'remote__echo', arguments: { text: 'hi' } }] }],
  ['TaskSubmitted', 2, { instruction: 'pay Alice', answerRecipient: `0x02${'11'.repeat(32)}` }],
  [
    'TaskSubmitted',
    3,
    {
      instructionHash: h,
      instructionSealed: bare(taskInputAad(taskId, 'instruction')),
      steps: [{ tool: 'remote__echo', argumentsHash: h, argumentsSealed: bare(taskInputAad(taskId, { step: 0 })) }],
    },
  ],
  ['TaskStepStarted', 1, { stepId: 'step-0', index: 0, tool: 'remote__echo', argumentsHash: h, argumentsJson: '{"text":"hi"}', source: 'steps', idempotent: true }],
  ['TaskStepCompleted', 1, { stepId: 'step-0', resultHash: h, resultJson: '{"content":[]}', isError: false }],
];

describe('salted payload hashes: the new versions take what the earlier versions read as them hold', () => {
  it('every earlier version reads as the latest with its data as it was, valid under the latest schema (catalog and exported JSON Schema)', () => {
    for (const [type, version, data] of older) {
      const label = `${type} v${version} ${JSON.stringify(Object.keys(data))}`;
      expect(catalog.validate(type, version, data), label).to.deep.equal(data);
      const read = catalog.upcast(createEvent({ type, version, stream: `x-${taskId}`, tenant: 'acme', actor: { kind: 'system', id: 's' }, data }));
      expect(read.version, label).to.equal(catalog.latestVersion(type)).and.to.be.above(version);
      expect(read.data, label).to.deep.equal(data);
      expect(() => catalog.validate(type, read.version, read.data), `${label} read as v${read.version}`).to.not.throw();
      expect(exported(type, read.version)(read.data), `${label} read as v${read.version} (exported schema)`).to.equal(true);
    }
  });

  it('a salted hash still comes only with its sealed payload, never beside the payload in clear', () => {
    const s = salted(payloadAad(callId, 'arguments'));
    const v3 = { ...ref, argumentsHash: s.hash, argumentsHashScheme: PAYLOAD_HASH_SCHEME, argumentsSealed: s.sealed, payloadPolicy: 'encrypted' };
    expect(catalog.validate('ToolCallRequested', 3, v3)).to.deep.equal(v3);
    const { argumentsSealed: _s, ...unsealed } = v3;
    expect(() => catalog.validate('ToolCallRequested', 3, unsealed)).to.throw(/argumentsHashScheme/);
    expect(() => catalog.validate('ToolCallRequested', 3, { ...v3, argumentsJson: '{"text":"hi"}' })).to.throw(/argumentsHashScheme/);
    expect(() => catalog.validate('ToolCallRequested', 3, { ...v3, payloadPolicy: 'store' })).to.throw(/argumentsHashScheme/);
    expect(() => catalog.validate('ToolCallRequested', 3, { ...v3, argumentsHashScheme: 'sha256-salted-v9' })).to.throw(/argumentsHashScheme/);
    const r = salted(payloadAad(callId, 'result'));
    const c3 = { ...ref, resultHash: r.hash, resultHashScheme: PAYLOAD_HASH_SCHEME, resultSealed: r.sealed, isError: false, cached: false, latencyUs: 1 };
    expect(catalog.validate('ToolCallCompleted', 3, c3)).to.deep.equal(c3);
    expect(() => catalog.validate('ToolCallCompleted', 3, { ...c3, resultSealed: undefined })).to.throw(/resultHashScheme/);
    expect(() => catalog.validate('ToolCallCompleted', 3, { ...c3, resultJson: '{}' })).to.throw(/resultHashScheme/);
    const started = { stepId: 'step-0', index: 0, tool: 'remote__echo', argumentsHash: h, argumentsHashScheme: PAYLOAD_HASH_SCHEME, source: 'steps', idempotent: true };
    expect(catalog.validate('TaskStepStarted', 2, started)).to.deep.equal(started);
    expect(() => catalog.validate('TaskStepStarted', 2, { ...started, argumentsJson: '{}' })).to.throw(/argumentsHashScheme/);
    const done = { stepId: 'step-0', resultHash: h, resultHashScheme: PAYLOAD_HASH_SCHEME, isError: false };
    expect(catalog.validate('TaskStepCompleted', 2, done)).to.deep.equal(done);
    expect(() => catalog.validate('TaskStepCompleted', 2, { ...done, resultJson: '{}' })).to.throw(/resultHashScheme/);
    const i = salted(taskInputAad(taskId, 'instruction'));
    const t4 = { instructionHash: i.hash, instructionHashScheme: PAYLOAD_HASH_SCHEME, instructionSealed: i.sealed };
    expect(catalog.validate('TaskSubmitted', 4, t4)).to.deep.equal(t4);
    expect(() => catalog.validate('TaskSubmitted', 4, { instruction: 'pay Alice', instructionHashScheme: PAYLOAD_HASH_SCHEME })).to.throw(/instructionHashScheme/);
  });

  it('v4 keeps the salt alone sealed for a payload kept by hash only (over 256 KiB, a model\'s arguments under LLM_REDACTION=hash-only), never beside the payload', () => {
    const a = sealSaltOnly(key, kid, '{"text":"hi"}', payloadAad(callId, 'arguments'));
    const v4 = { ...ref, argumentsHash: a.hash, argumentsHashScheme: PAYLOAD_HASH_SCHEME, argumentsSaltSealed: a.saltSealed, payloadPolicy: 'encrypted' };
    expect(catalog.validate('ToolCallRequested', 4, v4)).to.deep.equal(v4);
    expect(exported('ToolCallRequested', 4)(v4)).to.equal(true);
    expect(() => catalog.validate('ToolCallRequested', 3, v4), 'v3 has no argumentsSaltSealed').to.throw();
    const { argumentsHashScheme: _a, ...unnamed } = v4;
    expect(() => catalog.validate('ToolCallRequested', 4, unnamed)).to.throw(/argumentsSaltSealed/);
    expect(() => catalog.validate('ToolCallRequested', 4, { ...v4, argumentsSealed: salted(payloadAad(callId, 'arguments')).sealed })).to.throw(/argumentsSaltSealed/);
    expect(() => catalog.validate('ToolCallRequested', 4, { ...v4, argumentsJson: '{"text":"hi"}' })).to.throw(/argumentsHashScheme/);
    expect(() => catalog.validate('ToolCallRequested', 4, { ...v4, payloadPolicy: 'hash-only' })).to.throw(/argumentsHashScheme/);
    const r = sealSaltOnly(key, kid, '{"content":[]}', payloadAad(callId, 'result'));
    const c4 = { ...ref, resultHash: r.hash, resultHashScheme: PAYLOAD_HASH_SCHEME, resultSaltSealed: r.saltSealed, isError: false, cached: false, latencyUs: 1 };
    expect(catalog.validate('ToolCallCompleted', 4, c4)).to.deep.equal(c4);
    expect(exported('ToolCallCompleted', 4)(c4)).to.equal(true);
    const { resultHashScheme: _r, ...unnamedResult } = c4;
    expect(() => catalog.validate('ToolCallCompleted', 4, unnamedResult)).to.throw(/resultSaltSealed/);
    expect(() => catalog.validate('ToolCallCompleted', 4, { ...c4, resultSealed: salted(payloadAad(callId, 'result')).sealed })).to.throw(/resultSaltSealed/);
    const e = sealSaltOnly(key, kid, '"no such account"', payloadAad(callId, 'error'));
    const f2 = { ...ref, error: { code: 'MCP_UPSTREAM_ERROR', message: `-32602: upstream error message withheld (MCP_PAYLOAD_POLICY=encrypted: error texts are not recorded), hmac-sha256-salted-v1 ${e.hash}` }, errorSaltSealed: e.saltSealed, latencyUs: 1 };
    expect(catalog.validate('ToolCallFailed', 2, f2)).to.deep.equal(f2);
    expect(exported('ToolCallFailed', 2)(f2)).to.equal(true);
    expect(() => catalog.validate('ToolCallFailed', 1, f2), 'v1 has no errorSaltSealed').to.throw();
    // The subject index (a subject export) finds each by the kid of its salt, as it does a sealed payload's:
    // named by type and version, so an index that reads the sealed fields off each version's schema must
    // count argumentsSaltSealed, resultSaltSealed and errorSaltSealed (SealedSaltSchema) among them.
    const saltOnly = [
      { type: 'ToolCallRequested', version: 4, data: v4 },
      { type: 'ToolCallCompleted', version: 4, data: c4 },
      { type: 'ToolCallFailed', version: 2, data: f2 },
    ];
    for (const e of saltOnly) expect(subjectRefs(e), `${e.type} v${e.version}`).to.deep.equal([indexedRef(kidRef(kid))]);
    // The salt alone is 66 characters of plaintext: a payload's seal is refused in its place (its ciphertext is longer).
    expect(() => catalog.validate('ToolCallCompleted', 4, { ...c4, resultSaltSealed: salted(payloadAad(callId, 'result')).sealed })).to.throw(/resultSaltSealed/);
  });
});
