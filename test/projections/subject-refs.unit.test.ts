import { expect } from 'chai';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { catalog } from '../../events';
import { newId } from '../../src/core/ids';
import { sealedFields, subjectRefs } from '../../projections/subject-events.projection';

const victim = newId();
const sealed = (kid: string) => ({ alg: 'A256GCM', kid, iv: `0x${'0'.repeat(24)}`, ct: '0x00', tag: `0x${'0'.repeat(32)}` });
/** What a caller can put in plain data: the shape of a sealed payload, naming someone else's key. */
const lookAlike = { kid: victim, ct: '0x00' };
const hash = `0x${'a'.repeat(64)}`;
const refs = (type: string, version: number, data: Record<string, unknown>) => subjectRefs({ type, version, data: catalog.validate(type, version, data) });

describe('subject index refs: only the payloads an event version declares sealed', () => {
  it("indexes the data keys of the sealed fields of tool calls and task inputs, each version's own", () => {
    const mine = newId();
    const call = { serverId: 'srv-1', server: 's', tool: 't', argumentsHash: hash };
    expect(refs('ToolCallRequested', 2, { ...call, payloadPolicy: 'encrypted', argumentsSealed: sealed(mine) })).to.deep.equal([`kid:${mine}`]);
    expect(refs('ToolCallRequested', 3, { ...call, payloadPolicy: 'encrypted', argumentsHashScheme: 'hmac-sha256-salted-v1', argumentsSealed: sealed(mine) })).to.deep.equal([`kid:${mine}`]);
    const other = newId();
    const task = refs('TaskSubmitted', 4, {
      instructionSealed: sealed(mine),
      instructionHash: hash,
      instructionHashScheme: 'hmac-sha256-salted-v1',
      steps: [{ tool: 'a__b', argumentsHash: hash, argumentsHashScheme: 'hmac-sha256-salted-v1', argumentsSealed: sealed(other) }],
    });
    expect(task).to.have.members([`kid:${mine}`, `kid:${other}`]);
  });

  it('indexes an older version read as the latest (upcast) under the same keys as the version it was written in', () => {
    const mine = newId();
    const other = newId();
    const call = { serverId: 'srv-1', server: 's', tool: 't', argumentsHash: hash };
    const written = [
      { type: 'ToolCallRequested', version: 2, data: { ...call, payloadPolicy: 'encrypted', argumentsSealed: sealed(mine) } },
      { type: 'ToolCallCompleted', version: 2, data: { serverId: 'srv-1', server: 's', tool: 't', resultHash: hash, isError: false, cached: false, latencyUs: 1, resultSealed: sealed(mine) } },
      { type: 'TaskSubmitted', version: 3, data: { instructionSealed: sealed(mine), instructionHash: hash, steps: [{ tool: 'a__b', arguments: {} }, { tool: 'a__b', argumentsHash: hash, argumentsSealed: sealed(other) }] } },
    ];
    for (const w of written) {
      const e = { ...w, data: catalog.validate(w.type, w.version, w.data) };
      const read = catalog.upcast({ ...e, id: newId(), stream: 's', occurredAt: '2026-12-07T00:00:00.000Z', tenant: 'acme', actor: { kind: 'agent' as const, id: 'a' } });
      expect(read.version, w.type).to.be.above(w.version);
      expect(subjectRefs(read), `${w.type} v${w.version} read as v${read.version}`).to.have.members(subjectRefs(e)).and.not.be.empty;
    }
    // Every later version of a type keeps the sealed fields of the earlier ones (their upcasters keep data as it is).
    for (const d of catalog.definitions()) {
      for (const later of catalog.definitions().filter((x) => x.type === d.type && x.version > d.version)) {
        expect(sealedFields(later.type, later.version).map((p) => p.join('.')), `${d.type} v${d.version} → v${later.version}`).to.include.members(sealedFields(d.type, d.version).map((p) => p.join('.')));
      }
    }
  });

  it("indexes no look-alike {kid, ct} in plain data: a task's input or output, a stored step beside a sealed one, an event type of no sealed field", () => {
    expect(refs('TaskSubmitted', 2, { steps: [{ tool: 'a__b', arguments: { note: lookAlike, deeper: [{ argumentsSealed: sealed(victim) }] } }] })).to.deep.equal([]);
    expect(refs('TaskSubmitted', 4, { instruction: 'hi', steps: [{ tool: 'chain__read_contract', arguments: { argumentsSealed: sealed(victim), x: lookAlike } }] })).to.deep.equal([]);
    expect(refs('TaskCompleted', 1, { output: { steps: [{ result: lookAlike }, { resultSealed: sealed(victim) }] } })).to.deep.equal([]);
    // Not in the catalog (a test's, or a newer release's type): nothing declared sealed.
    expect(subjectRefs({ type: 'SubjectTestNoted', version: 1, data: { argumentsSealed: sealed(victim) } })).to.deep.equal([]);
    expect(subjectRefs({ type: 'ToolCallRequested', version: 1, data: { argumentsSealed: sealed(victim) } })).to.deep.equal([]);
  });

  it('indexes nothing of any JSON a caller puts in plain data (property)', () => {
    const json = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: 'small' }, fc.constant(lookAlike), fc.constant(sealed(victim)), fc.string(), fc.integer(), tie('object'), tie('array')),
      object: fc.dictionary(fc.constantFrom('kid', 'ct', 'argumentsSealed', 'resultSealed', 'instructionSealed', 'x'), tie('value')),
      array: fc.array(tie('value'), { maxLength: 3 }),
    }));
    fc.assert(
      fc.property(json.object, json.value, (args, output) => {
        expect(refs('TaskSubmitted', 2, { steps: [{ tool: 'a__b', arguments: args }] })).to.deep.equal([]);
        expect(refs('TaskCompleted', 2, { output })).to.deep.equal([]);
      }),
    );
  });

  it('finds a sealed field in every event version whose JSON Schema has a sealed payload (A256GCM), and in no other', () => {
    for (const d of catalog.definitions()) {
      const schema = readFileSync(join(__dirname, '../../events/schema', `${d.type}.v${d.version}.json`), 'utf8');
      expect(sealedFields(d.type, d.version).length > 0, `${d.type} v${d.version}`).to.equal(schema.includes('A256GCM'));
    }
  });
});
