import { expect } from 'chai';
import { McpGateway } from '../../src/mcp/gateway';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { payloadMatchesHash } from '../../src/sdk';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import type { SubjectKeyStore } from '../../src/erasure/subject-key-store';
import { randomBytes } from 'node:crypto';
import { ValidationError } from '../../src/core/errors';
import { openedSalt } from '../../src/erasure/opened';
import { payloadAad, type SealedPayload } from '../../src/erasure/sealed-payload';
import { PAYLOAD_HASH_SCHEME, saltedPayloadHash } from '../../src/erasure/salted-hash';
import { subjectOf } from '../../src/erasure/subject';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { openTempSqliteStore } from '../mcp/support/stores';
import { toolCallsProjection, type ToolCallDoc } from '../../projections/tool-calls.projection';
import { toolCallView } from '../../src/readmodels/tool-call-view';
import { openToolCallView } from '../../src/readmodels/open-tool-call-view';
import type { RecordedEvent } from '../../src/core/envelope';

const actor = { kind: 'user' as const, id: 'dana' };

/**
 * A failed call's withheld error under MCP_PAYLOAD_POLICY=encrypted: ToolCallFailed keeps no text of
 * it, only a digest, and that digest was the message's plain SHA-256, which confirms a guess of the
 * message (an upstream's error commonly echoes the arguments: an e-mail address) after the subject's
 * key is erased. It is salted as the payloads are, the salt alone sealed under the subject's key.
 */
describe("MCP gateway: a withheld error's digest under MCP_PAYLOAD_POLICY=encrypted", function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let remote: HttpExample;
  let gateway: McpGateway;
  const keys = new MemorySubjectKeyStore();
  const warned: { obj: Record<string, unknown>; msg?: string }[] = [];

  before(async () => {
    db = await openTempSqliteStore();
    remote = await startHttpExample({ testTools: true });
    const logger = { warn: (obj: unknown, msg?: string) => void warned.push({ obj: obj as Record<string, unknown>, msg }) };
    gateway = new McpGateway({ store: db.store, payloadPolicy: 'encrypted', subjectKeys: keys, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 }, logger });
    await gateway.registerServer({ tenant: 'acme', actor, name: 'remote', transport: 'http', url: remote.url });
  });
  after(async () => {
    await gateway?.close();
    await remote?.close();
    await db?.cleanup();
  });

  it('records a salted digest whose salt alone is sealed (ToolCallFailed v2); after erasure the guessed message is not confirmable', async () => {
    const head = await db.store.headPosition();
    const given = randomBytes(32);
    const err = await gateway.callTool({ tenant: 'acme', actor, payloadSalts: { error: given } }, 'remote__reject', { message: 'no such account: dana@example.com' }).catch((e: unknown) => e);
    const said = (err as { rpcMessage: string }).rpcMessage;
    expect(said).to.contain('dana@example.com');
    const [requested, failed] = (await db.store.readAll({ after: head, limit: 1000 })).filter((e) => e.stream.startsWith('toolcall-'));
    expect([failed.type, failed.version]).to.deep.equal(['ToolCallFailed', 2]);
    const data = failed.data as { error: { code: string; message: string }; errorSaltSealed: SealedPayload };
    const m = /^-32602: upstream error message withheld \(MCP_PAYLOAD_POLICY=encrypted: error texts are not recorded\), hmac-sha256-salted-v1 (0x[0-9a-f]{64})$/.exec(data.error.message);
    expect(m, data.error.message).to.not.equal(null);
    // The key holder opens the salt and proves the message; the operator's log has both too.
    const salt = await openedSalt(keys, data.errorSaltSealed, payloadAad(requested.stream.slice('toolcall-'.length), 'error'));
    const guess = payloadDigest(said);
    expect(saltedPayloadHash(salt!, guess.json)).to.equal(m![1]);
    // The salt the agent runtime gave, known sealed: its TaskStepFailed keeps the same digest.
    expect(salt).to.equal(`0x${given.toString('hex')}`);
    expect(gateway.errorDigestSealed(given)).to.equal(true);
    const line = warned.find((l) => l.obj.callId === requested.stream.slice('toolcall-'.length));
    expect(line?.obj).to.include({ messageHash: m![1], messageHashScheme: PAYLOAD_HASH_SCHEME, messageSalt: salt });
    // The API shows the salt while the key exists (GET /v1/tool-calls/:id), as it does a payload's.
    const doc = [requested, failed].reduce<ToolCallDoc | undefined>((d, e: RecordedEvent) => toolCallsProjection.evolve(d, e), undefined)!;
    const view = await openToolCallView(keys, toolCallView(doc));
    expect(view).to.include({ errorSalt: salt }).and.not.have.property('errorSaltSealed');
    expect(payloadMatchesHash(said, m![1], { scheme: PAYLOAD_HASH_SCHEME, salt: view.errorSalt }), "the SDK's check, with what the API shows").to.equal(true);

    await keys.erase(subjectOf('acme', actor));
    expect(await openedSalt(keys, data.errorSaltSealed, payloadAad(requested.stream.slice('toolcall-'.length), 'error'))).to.equal(undefined);
    expect(await openToolCallView(keys, toolCallView(doc))).to.not.have.any.keys('errorSalt', 'errorSaltSealed');
    const log = JSON.stringify(await db.store.readAll({ limit: 10_000 }));
    expect(log, "the guessed message's plain SHA-256").to.not.contain(guess.hash.slice(2));
    expect(log).to.not.contain('dana@example.com');
    expect(log).to.not.contain(salt!.slice(2));
    expect(log).to.not.match(/sha256 0x/);
  });

  it("with the subject's key unreadable when the call fails, the failure is still recorded, with no digest (ToolCallFailed v1): never the plain SHA-256, nor a salt sealed nowhere", async () => {
    // Reads the key for the arguments, then fails: the key store went away during the call.
    let reads = 0;
    const flaky: SubjectKeyStore = {
      keyFor: async (s) => {
        if (++reads > 1) throw new Error('connect ECONNREFUSED 127.0.0.1:3306');
        return keys.keyFor(s);
      },
      keyById: (kid) => keys.keyById(kid),
      erase: (s) => keys.erase(s),
      keysOf: (s) => keys.keysOf(s),
    };
    const g = new McpGateway({ store: db.store, payloadPolicy: 'encrypted', subjectKeys: flaky, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
    try {
      await g.registerServer({ tenant: 'acme', actor, name: 'remote2', transport: 'http', url: remote.url });
      const head = await db.store.headPosition();
      const salt = randomBytes(32);
      const err = await g.callTool({ tenant: 'acme', actor: { kind: 'user', id: 'fay' }, payloadSalts: { error: salt } }, 'remote2__reject', { message: 'no such account: fay@example.com' }).catch((e: unknown) => e);
      expect((err as { rpcMessage: string }).rpcMessage, 'the caller is told the error all the same').to.contain('fay@example.com');
      const calls = (await db.store.readAll({ after: head, limit: 1000 })).filter((e) => e.stream.startsWith('toolcall-'));
      expect(calls.map((e) => [e.type, e.version])).to.deep.equal([['ToolCallRequested', 3], ['ToolCallFailed', 1]]);
      const { error } = calls[1].data as { error: { message: string } };
      expect(error.message).to.equal('-32602: upstream error message withheld (MCP_PAYLOAD_POLICY=encrypted: error texts are not recorded)');
      expect(calls[1].data).to.not.have.property('errorSaltSealed');
      expect(g.errorDigestSealed(salt), 'the salt is sealed nowhere: the agent records no digest keyed by it').to.equal(false);
    } finally {
      await g.close();
    }
  });

  it('a ToolCallFailed the log refuses holds no salt: errorDigestSealed says so (the agent then keeps no digest keyed by it)', async () => {
    const refusing = new Proxy(db.store, {
      get(target, prop, receiver) {
        if (prop !== 'append') return Reflect.get(target, prop, receiver) as unknown;
        return (stream: string, events: { type: string }[], o: unknown) =>
          events.some((e) => e.type === 'ToolCallFailed') ? Promise.reject(new ValidationError('event over 4 MiB', { field: 'data' })) : target.append(stream, events as never, o as never);
      },
    });
    const g = new McpGateway({ store: refusing, payloadPolicy: 'encrypted', subjectKeys: keys, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 } });
    try {
      await g.registerServer({ tenant: 'acme', actor, name: 'remote3', transport: 'http', url: remote.url });
      const salt = randomBytes(32);
      const err = await g.callTool({ tenant: 'acme', actor: { kind: 'user', id: 'gus' }, payloadSalts: { error: salt } }, 'remote3__reject', { message: 'no such account' }).catch((e: unknown) => e);
      expect((err as { code: string }).code).to.equal('AUDIT_UNAVAILABLE');
      expect(g.errorDigestSealed(salt)).to.equal(false);
    } finally {
      await g.close();
    }
  });

  it('a failure told in the gateway\'s own words (a cancelled call) keeps the same salted digest', async () => {
    const head = await db.store.headPosition();
    await gateway.callTool({ tenant: 'acme', actor: { kind: 'user', id: 'erik' } }, 'remote__sleep', { ms: 5_000 }, { signal: AbortSignal.timeout(50) }).catch(() => undefined);
    const failed = (await db.store.readAll({ after: head, limit: 1000 })).find((e) => e.type === 'ToolCallFailed');
    expect(failed?.version).to.equal(2);
    expect((failed!.data as { error: { message: string } }).error.message).to.match(/; message withheld \(MCP_PAYLOAD_POLICY=encrypted: error texts are not recorded\), hmac-sha256-salted-v1 0x[0-9a-f]{64}$/);
  });
});
