import { expect } from 'chai';
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { catalog, SealedPayloadSchema, SealedSaltSchema } from '../../events';
import { openedPayload, openedSalt } from '../../src/erasure/opened';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { PAYLOAD_HASH_SCHEME, saltedAad, saltedPayloadHash, saltedPlaintext, splitSaltedPlaintext } from '../../src/erasure/salted-hash';
import { openSealed, payloadAad, sealPayload, sealSaltedPayload, sealSaltOnly } from '../../src/erasure/sealed-payload';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { payloadMatchesHash } from '../../src/sdk';

const aad = payloadAad('0193a000-0000-7000-8000-000000000001', 'arguments');
/** Tool payloads as callers give them: any JSON (floats included), as payloadDigest takes it. */
const payload = fc.jsonValue();

describe('salted payload hashes (MCP_PAYLOAD_POLICY=encrypted)', () => {
  it('whoever opens the payload has its salt and recomputes its hash; the hash is never the plain SHA-256, and two seals of one payload hash apart', async () => {
    const keys = new MemorySubjectKeyStore();
    const k = await keys.keyFor('acme:user:alice');
    await fc.assert(
      fc.asyncProperty(payload, async (value) => {
        const { json, hash: plain } = payloadDigest(value);
        const s = sealSaltedPayload(k.key, k.kid, json, aad);
        expect(SealedPayloadSchema.parse(s.sealed)).to.deep.equal(s.sealed);
        expect(s.scheme).to.equal(PAYLOAD_HASH_SCHEME);
        const opened = await openedPayload(keys, s.sealed, aad);
        expect(opened).to.deep.equal({ json, salt: opened!.salt, scheme: PAYLOAD_HASH_SCHEME });
        expect(saltedPayloadHash(opened!.salt!, payloadDigest(JSON.parse(opened!.json)).json)).to.equal(s.hash);
        expect(s.hash).to.match(/^0x[0-9a-f]{64}$/).and.not.equal(plain);
        expect(sealSaltedPayload(k.key, k.kid, json, aad).hash).to.not.equal(s.hash);
      }),
      { numRuns: 200 },
    );
  });

  it('once the key is erased nothing opens the payload, and no guess (the payload itself) reproduces the hash without the salt', async () => {
    const keys = new MemorySubjectKeyStore();
    const k = await keys.keyFor('acme:user:bob');
    const sealed = fc.sample(payload, 30).map((v) => ({ json: payloadDigest(v).json, ...sealSaltedPayload(k.key, k.kid, payloadDigest(v).json, aad) }));
    await keys.erase('acme:user:bob');
    for (const s of sealed) {
      expect(await openedPayload(keys, s.sealed, aad)).to.equal(undefined);
      // The guess is exactly right, yet neither its SHA-256 nor a hash under another salt confirms it.
      expect(payloadDigest(JSON.parse(s.json)).hash).to.not.equal(s.hash);
      expect(saltedPayloadHash(randomBytes(32), s.json)).to.not.equal(s.hash);
    }
  });

  it('a payload kept by hash only has its salt alone sealed: opened, it recomputes the hash; it opens neither as a payload nor at another place; erased, nothing does', async () => {
    const keys = new MemorySubjectKeyStore();
    const k = await keys.keyFor('acme:user:carol');
    const other = payloadAad('0193a000-0000-7000-8000-000000000001', 'result');
    const kept: { json: string; saltSealed: ReturnType<typeof sealSaltOnly>['saltSealed']; hash: string }[] = [];
    await fc.assert(
      fc.asyncProperty(payload, async (value) => {
        const { json, hash: plain } = payloadDigest(value);
        const s = sealSaltOnly(k.key, k.kid, json, aad);
        expect(SealedSaltSchema.parse(s.saltSealed)).to.deep.equal(s.saltSealed);
        expect(s.scheme).to.equal(PAYLOAD_HASH_SCHEME);
        const salt = await openedSalt(keys, s.saltSealed, aad);
        expect(saltedPayloadHash(salt!, json)).to.equal(s.hash);
        expect(s.hash).to.not.equal(plain);
        // Not a payload (it would read as one of no text), nor the salt of the result.
        expect(await openedPayload(keys, s.saltSealed, aad)).to.equal(undefined);
        expect(await openedSalt(keys, s.saltSealed, other)).to.equal(undefined);
        expect(await openedSalt(keys, sealSaltedPayload(k.key, k.kid, json, aad).sealed, aad), 'a payload is no salt').to.equal(undefined);
        kept.push({ json, saltSealed: s.saltSealed, hash: s.hash });
      }),
      { numRuns: 100 },
    );
    await keys.erase('acme:user:carol');
    for (const s of kept) {
      expect(await openedSalt(keys, s.saltSealed, aad)).to.equal(undefined);
      expect(payloadDigest(JSON.parse(s.json)).hash).to.not.equal(s.hash);
    }
  });

  it('the sealed plaintext is the salt (0x and 64 hex) then the JSON, split back exactly; other text is refused', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.string({ unit: 'grapheme' }), (salt, json) => {
        const text = saltedPlaintext(Buffer.from(salt), json);
        expect(splitSaltedPlaintext(text)).to.deep.equal({ salt: `0x${Buffer.from(salt).toString('hex')}`, json });
      }),
    );
    for (const bad of ['{"text":"hi"}', '0x12{}', `0X${'ab'.repeat(32)}{}`, `0x${'AB'.repeat(32)}{}`]) expect(() => splitSaltedPlaintext(bad), bad).to.throw(/not a salted payload/);
    expect(() => saltedPayloadHash(randomBytes(16), '{}')).to.throw(RangeError, /32 bytes/);
  });

  it('is HMAC-SHA256 keyed by the salt over the canonical JSON (a vector a third party recomputes)', () => {
    const salt = Buffer.alloc(32, 1);
    // python3 -c "import hmac,hashlib;print(hmac.new(bytes([1])*32,b'{\"text\":\"alice@example.com\"}',hashlib.sha256).hexdigest())"
    expect(saltedPayloadHash(salt, '{"text":"alice@example.com"}')).to.equal('0x' + VECTOR);
    expect(saltedPayloadHash(`0x${salt.toString('hex')}`, '{"text":"alice@example.com"}')).to.equal('0x' + VECTOR);
  });

  it('payloads sealed bare by earlier versions still open (no salt: their hash is the plain SHA-256); a salted one does not open bare (a release rolled back to reads it as erased)', async () => {
    const keys = new MemorySubjectKeyStore();
    const k = await keys.keyFor('acme:user:carol');
    const bare = sealPayload(k.key, k.kid, '{"text":"hi"}', aad);
    expect(await openedPayload(keys, bare, aad)).to.deep.equal({ json: '{"text":"hi"}' });
    const salted = sealSaltedPayload(k.key, k.kid, '{"text":"hi"}', aad);
    expect(() => openSealed(k.key, salted.sealed, aad)).to.throw();
    expect(openSealed(k.key, salted.sealed, saltedAad(aad)).slice(66)).to.equal('{"text":"hi"}');
    // Bound to where it is kept, as bare ones are.
    expect(await openedPayload(keys, salted.sealed, payloadAad('0193a000-0000-7000-8000-000000000001', 'result'))).to.equal(undefined);
  });

  it('the new versions name the scheme, only beside a sealed payload; the old versions read through upcasters as they are', () => {
    const k = randomBytes(32);
    const kid = '0193a000-0000-7000-8000-0000000000aa';
    const s = sealSaltedPayload(k, kid, '{"text":"hi"}', aad);
    const ref = { serverId: 's1', server: 'remote', tool: 'echo' };
    const v3 = { ...ref, argumentsHash: s.hash, argumentsHashScheme: s.scheme, argumentsSealed: s.sealed, payloadPolicy: 'encrypted' };
    expect(catalog.validate('ToolCallRequested', 3, v3)).to.deep.equal(v3);
    // Without the sealed payload the scheme is refused; without the scheme it is v2's shape, which reads as v3 as it is (test/events/payload-hash-versions).
    const { argumentsSealed: _, ...unsealed } = v3;
    expect(() => catalog.validate('ToolCallRequested', 3, unsealed)).to.throw(/argumentsHashScheme/);
    expect(() => catalog.validate('ToolCallRequested', 3, { ...v3, argumentsJson: '{"text":"hi"}' })).to.throw();
    for (const [type, from, to] of [['ToolCallRequested', 2, 5], ['ToolCallCompleted', 2, 4], ['ToolCallRequested', 3, 5], ['ToolCallCompleted', 3, 4], ['TaskSubmitted', 3, 4], ['TaskStepStarted', 1, 2], ['TaskStepCompleted', 1, 2]] as const) {
      expect(catalog.latestVersion(type), type).to.equal(to);
      const e = { id: 'e', type, version: from, stream: 'x-1', occurredAt: '2026-12-11T00:00:00.000Z', tenant: 'acme', actor: { kind: 'system' as const, id: 's' }, data: { argumentsHash: '0x00' } };
      expect(catalog.upcast(e)).to.deep.include({ version: to, data: { argumentsHash: '0x00' } });
    }
  });
});

// Computed with Python's hmac module (the command above), not with this code.
const VECTOR = '59b64a5c5c69f185b6d2d2f11bbdf7ed2b989345ea7fc60426ab62f1dc36f646';

describe("the SDK's payloadMatchesHash", () => {
  it('checks a payload against its plain or salted hash, as the API shows them; a wrong payload, salt or scheme does not match', () => {
    const salt = `0x${'07'.repeat(32)}`;
    fc.assert(
      fc.property(payload, payload, (value, other) => {
        const { json, hash } = payloadDigest(value);
        const salted = saltedPayloadHash(salt, json);
        expect(payloadMatchesHash(value, hash)).to.equal(true);
        expect(payloadMatchesHash(value, salted, { scheme: PAYLOAD_HASH_SCHEME, salt })).to.equal(true);
        expect(payloadMatchesHash(value, salted)).to.equal(false);
        expect(payloadMatchesHash(value, salted, { scheme: PAYLOAD_HASH_SCHEME })).to.equal(false);
        expect(payloadMatchesHash(value, salted, { scheme: PAYLOAD_HASH_SCHEME, salt: `0x${'08'.repeat(32)}` })).to.equal(false);
        expect(payloadMatchesHash(value, salted, { scheme: 'sha3-salted-v9', salt })).to.equal(false);
        if (payloadDigest(other).json !== json) expect(payloadMatchesHash(other, salted, { scheme: PAYLOAD_HASH_SCHEME, salt })).to.equal(false);
      }),
    );
  });
});
