import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { SealedPayloadSchema, SealedSaltSchema } from '../../events/erasure.events';
import { openSealed, payloadAad, sealPayload, stepErrorAad, taskErrorAad, turnPromptAad, turnResponseAad } from '../../src/erasure/sealed-payload';
import { parseSubject, subjectOf } from '../../src/erasure/subject';

describe('sealed payloads and subject ids', () => {
  const key = randomBytes(32);
  const kid = '0193a000-0000-7000-8000-0000000000aa';

  it('seals to an envelope the event schema takes, and opens only with its key and where it was kept', () => {
    const aad = payloadAad('0193a000-0000-7000-8000-000000000001', 'arguments');
    const sealed = sealPayload(key, kid, '{"text":"héllo"}', aad);
    expect(SealedPayloadSchema.parse(sealed)).to.deep.equal(sealed);
    expect(openSealed(key, sealed, aad)).to.equal('{"text":"héllo"}');
    expect(sealPayload(key, kid, '{}', aad).iv).to.not.equal(sealPayload(key, kid, '{}', aad).iv);
    expect(() => openSealed(randomBytes(32), sealed, aad)).to.throw();
    expect(() => openSealed(key, sealed, payloadAad('0193a000-0000-7000-8000-000000000001', 'result'))).to.throw();
    expect(() => openSealed(key, { ...sealed, ct: `0x${'00'.repeat((sealed.ct.length - 2) / 2)}` as `0x${string}` }, aad)).to.throw();
  });

  it("SealedSaltSchema's description (every event's JSON Schema with a salt sealed alone) names each place a salt is sealed alone for", () => {
    const said = SealedSaltSchema.description!;
    expect(said).to.contain('toolcall-<id>/<arguments|result|error>');
    // The model's turn (its answer and its prompt), a task step's and a task's withheld error (InferenceCompleted v7 and v8, TaskStepFailed v2, TaskFailed v2).
    for (const place of [turnResponseAad('<id>', '<n>' as unknown as number), turnPromptAad('<id>', '<n>' as unknown as number), stepErrorAad('<id>', '<stepId>'), taskErrorAad('<id>')]) expect(said, place).to.contain(`\`${place}\``);
  });

  it('names a subject <tenant>:<kind>:<actor id> and parses it back; refuses what subjectOf cannot make, naming the field', () => {
    const actor = { kind: 'user' as const, id: 'auth0|alice:1' };
    expect(subjectOf('acme', actor)).to.equal('acme:user:auth0|alice:1');
    expect(parseSubject(subjectOf('acme', actor))).to.deep.equal({ tenant: 'acme', actor });
    for (const bad of ['', 'acme', 'acme:user', 'acme:user:', 'acme:robot:x', ':user:x', 'acme:user:a\nb', `acme:user:${'x'.repeat(201)}`]) {
      expect(() => parseSubject(bad), JSON.stringify(bad)).to.throw(/subject: a subject id is <tenant>:<user\|agent\|system>:<actor id>/).with.property('code', 'VALIDATION_FAILED');
    }
  });
});
