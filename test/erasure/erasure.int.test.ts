import { expect } from 'chai';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { computeEventHash, type RecordedEvent } from '../../src/core/envelope';
import { toHex } from '../../src/core/hex';
import { cachedSubjectKeys } from '../../src/erasure/cached-subject-keys';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { MAX_STORED_PAYLOAD_CHARS } from '../../src/mcp/audit';
import { PAYLOAD_HASH_SCHEME, saltedPayloadHash } from '../../src/erasure/salted-hash';
import { batchLeaves } from '../../src/proofs/seal-batch';
import { buildTree, rootFromInclusionProof } from '../../src/proofs/merkle';
import { until } from '../mcp/support/until';
import { makeGatewayHarness } from '../api/support/gateway-harness';
import type { Harness } from '../api/support/harness';
import type { McpGateway } from '../../src/mcp/gateway';
import { runSubjectsErase, runSubjectsExport, runSubjectsShow } from '../../src/cli/subjects';
import { runToolCallsShow } from '../../src/cli/tool-calls';
import { clientFromEnvironment } from '../../src/sdk/from-env';
import { scanLogForSubject } from '../../src/sdk/subject-log-scan';
import { exportSubject } from '../../src/sdk/subject-export';
import { payloadMatchesHash } from '../../src/sdk';

const MARKER = 'erasure-marker-4711';

/**
 * MCP_PAYLOAD_POLICY=encrypted end to end through the real gateway, log, projector and REST API:
 * the log keeps no plaintext, REST opens the payloads with the subject's key, and after
 * DELETE /v1/subjects/:subject/key shows them erased while the events stay byte-identical and
 * their hashes and Merkle inclusion still check.
 */
describe('crypto-erasure of tool-call payloads (MCP_PAYLOAD_POLICY=encrypted)', function () {
  this.timeout(60_000);
  let upstream: HttpExample;
  let h: Harness;
  let gw: McpGateway;
  let close: () => Promise<void>;
  let admin: string;
  let caller: { auth: string; id: string };
  const subjectKeys = new MemorySubjectKeyStore();

  before(async () => {
    upstream = await startHttpExample({ testTools: true });
    // One cached store for the API and the gateway, as src/main.ts has it.
    const keys = cachedSubjectKeys(subjectKeys);
    ({ h, gw, close } = await makeGatewayHarness({ subjectKeys: keys }, 10_000, { payloadPolicy: 'encrypted', subjectKeys: keys, cacheTtlMs: 0 }));
    admin = (await h.key('admin', 'acme')).auth;
    caller = await h.key('agent', 'acme');
    // An upstream at an internal address (127.0.0.1) is a cross-tenant admin's to register.
    const reg = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: (await h.key('admin', 'acme', true)).auth, payload: { name: 'remote', transport: 'http', url: upstream.url } });
    expect(reg.statusCode, reg.body).to.equal(201);
  });
  after(async () => {
    await close?.();
    await upstream?.close();
  });

  let url: string | undefined;
  const listening = async () => (url ??= await h.app.listen({ host: '127.0.0.1', port: 0 }));
  const callAs = (id: string, text: string) => gw.callTool({ tenant: 'acme', actor: { kind: 'agent', id } }, 'remote__echo', { text });
  const streamEvents = async (stream: string) => (await h.store.readAll({ limit: 10_000 })).filter((e) => e.stream === stream);
  const shown = async (id: string) => {
    const res = await h.call({ method: 'GET', url: `/v1/tool-calls/${id}`, auth: admin });
    expect(res.statusCode, res.body).to.equal(200);
    return res.json() as Record<string, unknown>;
  };
  async function recordedCall(text: string, actorId = caller.id): Promise<{ id: string; events: RecordedEvent[] }> {
    const head = await h.store.headPosition();
    await callAs(actorId, text);
    const events = (await h.store.readAll({ after: head, limit: 100 })).filter((e) => e.stream.startsWith('toolcall-'));
    const id = events[0].stream.slice('toolcall-'.length);
    await until('the read model shows the call', async () => (await h.knex('rm_tool_calls').where({ id, status: 'completed' })).length === 1);
    return { id, events };
  }

  it('keeps no plaintext in the log or the read model, and REST shows the payloads opened with the subject key', async () => {
    const { id, events } = await recordedCall(MARKER);
    expect(events.map((e) => [e.type, e.version])).to.deep.equal([['ToolCallRequested', 3], ['ToolCallCompleted', 3]]);
    expect(events[0].data).to.include({ payloadPolicy: 'encrypted', argumentsHashScheme: PAYLOAD_HASH_SCHEME });
    expect(events[1].data).to.include({ resultHashScheme: PAYLOAD_HASH_SCHEME });
    expect(events[0].data).to.not.have.property('argumentsJson');
    expect((events[0].data as { argumentsSealed: { alg: string } }).argumentsSealed.alg).to.equal('A256GCM');
    expect(events[1].data).to.have.property('resultSealed');
    expect(events[1].data).to.not.have.property('resultJson');
    const bodies = (await h.knex('events').select('body')).map((r: { body: string }) => r.body).join('\n');
    expect(bodies).to.not.contain(MARKER);
    expect(JSON.stringify(await h.knex('rm_tool_calls').select())).to.not.contain(MARKER);

    const view = await shown(id);
    expect(view.arguments).to.deep.equal({ text: MARKER });
    expect(JSON.stringify(view.result)).to.contain(MARKER);
    // The payloads shown match their hashes, with the salts the sealed payloads hold (and nothing else does).
    expect(view).to.include({ argumentsHashScheme: PAYLOAD_HASH_SCHEME, resultHashScheme: PAYLOAD_HASH_SCHEME });
    expect(saltedPayloadHash(view.argumentsSalt as string, payloadDigest(view.arguments).json)).to.equal(view.argumentsHash).and.equal((events[0].data as { argumentsHash: string }).argumentsHash);
    expect(saltedPayloadHash(view.resultSalt as string, payloadDigest(view.result).json)).to.equal(view.resultHash).and.equal((events[1].data as { resultHash: string }).resultHash);
    expect(JSON.stringify(events)).to.not.contain((view.argumentsSalt as string).slice(2));
    expect(view).to.not.have.any.keys('argumentsSealed', 'resultSealed', 'argumentsErased', 'resultErased');
    const listed = (await h.call({ method: 'GET', url: '/v1/tool-calls', auth: admin })).json().items.find((c: { id: string }) => c.id === id);
    expect(listed.arguments).to.deep.equal({ text: MARKER });
  });

  it('after erasure nothing confirms a guessed payload (an e-mail address); before, the API shows the payload matching its hash', async () => {
    const someone = await h.key('agent', 'acme');
    const email = 'alice@example.com';
    const { id, events } = await recordedCall(email, someone.id);
    const guess = payloadDigest({ text: email });
    const before = await shown(id);
    expect(before.arguments).to.deep.equal({ text: email });
    expect(saltedPayloadHash(before.argumentsSalt as string, guess.json), 'the holder of the payload proves it').to.equal(before.argumentsHash);

    expect((await h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(`acme:agent:${someone.id}`)}/key`, auth: admin })).statusCode).to.equal(204);
    const after = await shown(id);
    expect(after).to.include({ argumentsErased: true, argumentsHash: before.argumentsHash });
    // The hash keeps its scheme (the event names it): it is not taken for a plain SHA-256; its salt went with the key.
    expect(after).to.include({ argumentsHashScheme: PAYLOAD_HASH_SCHEME, resultHashScheme: PAYLOAD_HASH_SCHEME });
    expect(after).to.not.have.any.keys('argumentsSalt', 'resultSalt');
    // Whatever a reader of the log or the API holds: the events, the view. The exact guess confirms nothing.
    const held = JSON.stringify({ events: await streamEvents(`toolcall-${id}`), view: after, rows: await h.knex('rm_tool_calls').where({ id }) });
    expect(held).to.not.contain(guess.hash.slice(2));
    expect(held).to.not.contain((before.argumentsSalt as string).slice(2));
    expect(held).to.not.contain(email);
  });

  it('a payload over 256 KiB, kept by hash only, has its salt alone sealed: its hash is salted, and after erasure the guessed payload is not confirmable', async () => {
    const someone = await h.key('agent', 'acme');
    const big = `bob@example.com ${'x'.repeat(MAX_STORED_PAYLOAD_CHARS)}`;
    const { id, events } = await recordedCall(big, someone.id);
    expect(events.map((e) => [e.type, e.version])).to.deep.equal([['ToolCallRequested', 4], ['ToolCallCompleted', 4]]);
    expect(events[0].data).to.include({ argumentsHashScheme: PAYLOAD_HASH_SCHEME }).and.to.have.property('argumentsSaltSealed');
    expect(events[1].data).to.include({ resultHashScheme: PAYLOAD_HASH_SCHEME }).and.to.have.property('resultSaltSealed');
    expect(events[0].data).to.not.have.any.keys('argumentsSealed', 'argumentsJson');
    expect(events[1].data).to.not.have.any.keys('resultSealed', 'resultJson');
    const guess = payloadDigest({ text: big });
    const before = await shown(id);
    expect(before).to.not.have.any.keys('arguments', 'result', 'argumentsErased', 'argumentsSaltSealed', 'resultSaltSealed');
    expect(before).to.include({ argumentsHashScheme: PAYLOAD_HASH_SCHEME, resultHashScheme: PAYLOAD_HASH_SCHEME });
    expect(saltedPayloadHash(before.argumentsSalt as string, guess.json), 'whoever holds the payload and the salt proves it').to.equal(before.argumentsHash);
    expect(payloadMatchesHash({ text: big }, before.argumentsHash as string, { scheme: PAYLOAD_HASH_SCHEME, salt: before.argumentsSalt as string })).to.equal(true);

    expect((await h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(`acme:agent:${someone.id}`)}/key`, auth: admin })).statusCode).to.equal(204);
    const after = await shown(id);
    expect(after).to.include({ argumentsHash: before.argumentsHash, argumentsHashScheme: PAYLOAD_HASH_SCHEME, resultHashScheme: PAYLOAD_HASH_SCHEME });
    expect(after).to.not.have.any.keys('argumentsSalt', 'resultSalt');
    const held = JSON.stringify({ events: await streamEvents(`toolcall-${id}`), view: after, rows: await h.knex('rm_tool_calls').where({ id }) });
    expect(held, 'the plain SHA-256 of the guess').to.not.contain(guess.hash.slice(2));
    expect(held).to.not.contain((before.argumentsSalt as string).slice(2));
    expect(held).to.not.contain((before.resultSalt as string).slice(2));
    expect(held).to.not.contain('bob@example.com');
  });

  it("GET /v1/tool-calls reads each subject's key once, not once per sealed payload (the key cache shares reads)", async () => {
    const who = `lister-${Date.now()}`;
    for (const n of [1, 2, 3]) await recordedCall(`page-${n}`, who);
    let lookups = 0;
    const keyById = subjectKeys.keyById.bind(subjectKeys);
    subjectKeys.keyById = (kid) => (lookups++, keyById(kid));
    try {
      const res = await h.call({ method: 'GET', url: '/v1/tool-calls?limit=3', auth: admin });
      expect(res.statusCode, res.body).to.equal(200);
      expect(res.json().items.map((c: { arguments?: { text: string } }) => c.arguments?.text)).to.deep.equal(['page-3', 'page-2', 'page-1']);
      expect(lookups, 'six sealed payloads, one key').to.equal(1);
    } finally {
      subjectKeys.keyById = keyById;
    }
  });

  it("after DELETE /v1/subjects/:subject/key shows the payloads erased, the events byte-identical, their hashes and inclusion proofs still valid; other subjects' calls stay readable", async () => {
    const other = await h.key('agent', 'acme');
    const mine = await recordedCall(`${MARKER}-mine`);
    const theirs = await recordedCall(`${MARKER}-theirs`, other.id);
    const before = JSON.stringify(await streamEvents(mine.events[0].stream));
    const subject = `acme:agent:${caller.id}`;

    const res = await h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(subject)}/key`, auth: admin });
    expect(res.statusCode, res.body).to.equal(204);
    // Idempotent: the same request again is 204 and records nothing more.
    expect((await h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(subject)}/key`, auth: admin })).statusCode).to.equal(204);

    const view = await shown(mine.id);
    expect(view).to.include({ argumentsErased: true, resultErased: true, argumentsHash: (mine.events[0].data as { argumentsHash: string }).argumentsHash });
    expect(view).to.not.have.any.keys('arguments', 'result', 'argumentsSealed', 'resultSealed', 'argumentsSalt', 'resultSalt');
    expect((await shown(theirs.id)).arguments).to.deep.equal({ text: `${MARKER}-theirs` });

    const after = await streamEvents(mine.events[0].stream);
    expect(JSON.stringify(after)).to.equal(before);
    // What `openmcp verify` recomputes from the envelope: the event hash, the leaf, the root from the path.
    const all = await h.store.readAll({ limit: 10_000 });
    const tree = buildTree(batchLeaves(0, all));
    for (const e of after) {
      expect(computeEventHash(e)).to.equal(e.hash);
      const index = all.findIndex((x) => x.id === e.id);
      expect(toHex(rootFromInclusionProof(index, tree.size, batchLeaves(index, [e])[0], tree.inclusionProof(index)))).to.equal(toHex(tree.root));
    }

    const kid = (mine.events[0].data as { argumentsSealed: { kid: string } }).argumentsSealed.kid;
    // Once (the DELETE again recorded nothing); the test above erased another subject.
    const erased = all.filter((e) => e.type === 'SubjectKeyErased' && e.stream === `subject-${kid}`);
    expect(erased).to.have.length(1);
    expect(erased[0]).to.deep.include({ stream: `subject-${kid}`, tenant: 'acme', data: { kid } });
    expect(JSON.stringify(erased[0])).to.not.contain(caller.id);

    // The subject's next call gets a new key: readable until erased in turn.
    const next = await recordedCall(`${MARKER}-next`);
    expect((await shown(next.id)).arguments).to.deep.equal({ text: `${MARKER}-next` });
    expect((await shown(mine.id)).argumentsErased).to.equal(true);
  });

  it('GET /v1/subjects/:subject names its keys, when each was erased and the SubjectKeyErased event recording it (whose proof shows the erasure); refuses as DELETE does', async () => {
    const someone = await h.key('agent', 'acme');
    const subject = `acme:agent:${someone.id}`;
    const url = (s = subject) => `/v1/subjects/${encodeURIComponent(s)}`;
    const get = (s = subject, auth = admin) => h.call({ method: 'GET', url: url(s), auth });
    const { events } = await recordedCall(`${MARKER}-record`, someone.id);
    const kid = (events[0].data as { argumentsSealed: { kid: string } }).argumentsSealed.kid;

    const live = await get();
    expect(live.statusCode, live.body).to.equal(200);
    expect(live.json()).to.deep.equal({ subject, keys: [{ kid, createdAt: live.json().keys[0].createdAt }] });

    expect((await h.call({ method: 'DELETE', url: `${url()}/key`, auth: admin })).statusCode).to.equal(204);
    const [recorded] = await streamEvents(`subject-${kid}`);
    const erased = (await get()).json();
    expect(erased.keys).to.have.length(1);
    expect(erased.keys[0]).to.deep.include({ kid, erasure: { eventId: recorded.id, stream: `subject-${kid}`, occurredAt: recorded.occurredAt } });
    expect(erased.keys[0].erasedAt).to.be.a('string');

    // A later call makes a new, live key: listed after the erased one.
    await recordedCall(`${MARKER}-record-2`, someone.id);
    const again = (await get()).json();
    expect(again.keys.map((k: { kid: string }) => k.kid)[0]).to.equal(kid);
    expect(again.keys[1]).to.not.have.any.keys('erasedAt', 'erasure');

    const unknown = await get('acme:user:nobody');
    expect(unknown.statusCode).to.equal(404);
    expect(unknown.json()).to.include({ code: 'SUBJECT_NOT_FOUND', field: 'params.subject' });
    // Not "nothing about it here": what store or hash-only recorded has no key (docs/security.md, "Personal data").
    expect(unknown.json().detail).to.equal(
      'subject acme:user:nobody has no data key: it made no tool call and submitted no task under MCP_PAYLOAD_POLICY=encrypted here ' +
        '(what MCP_PAYLOAD_POLICY=store or hash-only recorded has no key to erase; subject ids are <tenant>:<kind>:<actor id>)',
    );
    expect((await get('not-a-subject')).json()).to.include({ code: 'VALIDATION_FAILED', field: 'params.subject' });
    const beta = await get(subject, (await h.key('admin', 'beta')).auth);
    expect(beta.statusCode).to.equal(403);
    expect((await get(subject, (await h.key('operator', 'acme')).auth)).statusCode).to.equal(403);
  });

  it("openmcp subjects export gathers a subject's events (its own, and those sealed under its keys on its behalf) with its tool calls opened, before and after erasure; nobody else's", async () => {
    const client = clientFromEnvironment({ env: { OPENMCP_URL: await listening(), OPENMCP_API_KEY: admin.slice('Bearer '.length) } });
    // Issued over the API, so that its ApiKeyCreated (with the key's name) is in the log.
    const issued = await h.call({ method: 'POST', url: '/v1/keys', auth: admin, payload: { role: 'agent', tenant: 'acme', name: 'laptop of A. Person' } });
    expect(issued.statusCode, issued.body).to.equal(201);
    const someone = { id: issued.json().id as string };
    const subject = `acme:agent:${someone.id}`;
    const own = await recordedCall(`${MARKER}-export-own`, someone.id);
    // A call made by a worker on the subject's behalf (a task's step): found by its key, not its actor.
    const head = await h.store.headPosition();
    await gw.callTool({ tenant: 'acme', actor: { kind: 'agent', id: 'agent-worker-1' }, subject: { kind: 'agent', id: someone.id } }, 'remote__echo', { text: `${MARKER}-export-behalf` });
    const behalf = (await h.store.readAll({ after: head, limit: 100 })).find((e) => e.stream.startsWith('toolcall-'))!.stream.slice('toolcall-'.length);
    await until('the read model shows the call', async () => (await h.knex('rm_tool_calls').where({ id: behalf, status: 'completed' })).length === 1);
    await recordedCall(`${MARKER}-export-other`);

    const exported = async () => {
      const lines: string[] = [];
      expect(await runSubjectsExport(client, subject, {}, (l) => void lines.push(l))).to.equal(0);
      return JSON.parse(lines.join('\n'));
    };
    const before = await exported();
    expect(before).to.include({ format: 'openmcp-subject-export/1', subject });
    expect(before.keys).to.have.length(1);
    const streams = new Set(before.events.map((e: { stream: string }) => e.stream));
    // Its calls, and its own key's stream (ApiKeyCreated: the key's name may name the person).
    expect([...streams].sort()).to.deep.equal([`toolcall-${own.id}`, `toolcall-${behalf}`, `apikey-${someone.id}`].sort());
    expect(before.events.map((e: { type: string }) => e.type).sort()).to.deep.equal(['ApiKeyCreated', 'ToolCallCompleted', 'ToolCallCompleted', 'ToolCallRequested', 'ToolCallRequested']);
    expect(before.toolCalls.map((c: { id: string; arguments: unknown }) => [c.id, c.arguments])).to.have.deep.members([
      [own.id, { text: `${MARKER}-export-own` }],
      [behalf, { text: `${MARKER}-export-behalf` }],
    ]);
    expect(before.tasks).to.deep.equal([]);
    // The subject can check each payload against the hash its events hold: the export carries the salts (2026-12-11).
    for (const c of before.toolCalls as { id: string; arguments: unknown; argumentsHash: string; argumentsHashScheme?: string; argumentsSalt?: string; result: unknown; resultHash: string; resultHashScheme?: string; resultSalt?: string }[]) {
      expect(c.argumentsHashScheme).to.equal(PAYLOAD_HASH_SCHEME);
      expect(payloadMatchesHash(c.arguments, c.argumentsHash, { scheme: c.argumentsHashScheme, salt: c.argumentsSalt })).to.equal(true);
      expect(payloadMatchesHash(c.result, c.resultHash, { scheme: c.resultHashScheme, salt: c.resultSalt })).to.equal(true);
      const requested = before.events.find((e: { type: string; stream: string }) => e.type === 'ToolCallRequested' && e.stream === `toolcall-${c.id}`);
      expect(requested.data).to.include({ argumentsHash: c.argumentsHash, argumentsHashScheme: PAYLOAD_HASH_SCHEME });
    }
    expect(before.events.find((e: { type: string }) => e.type === 'ApiKeyCreated').data.name).to.equal('laptop of A. Person');
    expect(JSON.stringify(before)).to.not.contain(`${MARKER}-export-other`);

    expect(await runSubjectsErase(client, subject, () => {})).to.equal(0);
    // GET /v1/events lists what the read models have applied.
    await until('the erasure is projected', async () => (await h.knex('rm_audit_events').where({ type: 'SubjectKeyErased', stream: `subject-${before.keys[0].kid}` })).length === 1);
    const after = await exported();
    expect(after.events.map((e: { type: string }) => e.type).filter((t: string) => t === 'SubjectKeyErased')).to.have.length(1);
    expect(after.toolCalls.every((c: { argumentsErased?: boolean; resultErased?: boolean }) => c.argumentsErased && c.resultErased)).to.equal(true);
    expect(JSON.stringify(after)).to.not.contain(`${MARKER}-export`);

    // A subject that never had a key: what it caused is still exported (nothing sealed to open).
    const lines: string[] = [];
    expect(await runSubjectsExport(client, 'acme:user:nobody', {}, (l) => void lines.push(l))).to.equal(0);
    expect(JSON.parse(lines.join('\n'))).to.deep.include({ subject: 'acme:user:nobody', keys: [], events: [], tasks: [], toolCalls: [] });
    lines.length = 0;
    expect(await runSubjectsExport(client, 'acme/agent', {}, (l) => void lines.push(l))).to.equal(1);
    expect(lines[0]).to.match(/^error VALIDATION_FAILED: /);
  });

  it("GET /v1/subjects/:subject/events lists, from the subject index, exactly what reading the whole log finds, in pages; refuses another tenant, a non-admin, a bad id or another list's cursor", async () => {
    const client = clientFromEnvironment({ env: { OPENMCP_URL: await listening(), OPENMCP_API_KEY: admin.slice('Bearer '.length) } });
    const issued = await h.call({ method: 'POST', url: '/v1/keys', auth: admin, payload: { role: 'agent', tenant: 'acme', name: 'subject-events' } });
    expect(issued.statusCode, issued.body).to.equal(201);
    const id = issued.json().id as string;
    const subject = `acme:agent:${id}`;
    await recordedCall(`${MARKER}-index-own`, id);
    await gw.callTool({ tenant: 'acme', actor: { kind: 'agent', id: 'agent-worker-2' }, subject: { kind: 'agent', id } }, 'remote__echo', { text: `${MARKER}-index-behalf` });
    await recordedCall(`${MARKER}-index-own-2`, id);
    await recordedCall(`${MARKER}-index-other`);
    const kids = new Set((await client.subjects.show(subject)).keys.map((k) => k.kid));
    expect(await runSubjectsErase(client, subject, () => {})).to.equal(0);
    await until('the erasure is projected', async () => (await h.knex('rm_audit_events').where({ type: 'SubjectKeyErased', stream: `subject-${[...kids][0]}` })).length === 1);

    const scanned: string[] = [];
    for await (const e of scanLogForSubject(client, subject, kids, async () => {})) scanned.push(e.id);
    const url = (q = '') => `/v1/subjects/${encodeURIComponent(subject)}/events${q}`;
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await h.call({ method: 'GET', url: url(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`), auth: admin });
      expect(res.statusCode, res.body).to.equal(200);
      listed.push(...res.json().items.map((e: { id: string }) => e.id));
      cursor = res.json().nextCursor;
    } while (cursor);
    // The API key's ApiKeyCreated, its two calls (requested, completed), the call on its behalf, its erasure.
    expect(scanned).to.have.length(8);
    expect(listed).to.deep.equal(scanned);
    const all: string[] = [];
    for await (const e of client.subjects.allEvents(subject, { limit: 3 })) all.push(e.id);
    expect(all).to.deep.equal(scanned);

    const beta = await h.call({ method: 'GET', url: url(), auth: (await h.key('admin', 'beta')).auth });
    expect(beta.statusCode).to.equal(403);
    expect(beta.json()).to.include({ code: 'FORBIDDEN', field: 'params.subject' });
    expect((await h.call({ method: 'GET', url: url(), auth: (await h.key('operator', 'acme')).auth })).statusCode).to.equal(403);
    const cross = await h.call({ method: 'GET', url: url(), auth: (await h.key('admin', 'beta', true)).auth });
    expect(cross.json().items.map((e: { id: string }) => e.id)).to.deep.equal(scanned);
    const malformed = await h.call({ method: 'GET', url: `/v1/subjects/not-a-subject/events`, auth: admin });
    expect(malformed.statusCode).to.equal(400);
    expect(malformed.json()).to.include({ code: 'VALIDATION_FAILED', field: 'params.subject' });
    const eventsPage = await h.call({ method: 'GET', url: '/v1/events?limit=1', auth: admin });
    const foreign = await h.call({ method: 'GET', url: url(`?cursor=${eventsPage.json().nextCursor}`), auth: admin });
    expect(foreign.statusCode).to.equal(400);
    expect(foreign.json()).to.include({ code: 'INVALID_CURSOR' });
    expect((await h.call({ method: 'GET', url: url('?after=3&cursor=x'), auth: admin })).statusCode).to.equal(400);
    // A subject that never had a key: what it caused (nothing here), not an error.
    expect((await h.call({ method: 'GET', url: `/v1/subjects/acme:user:nobody/events`, auth: admin })).json()).to.deep.equal({ items: [] });
  });

  it("GET /v1/subjects/:subject/events says a page ends at a hold (an earlier release's projector's row without its index rows), with the cursor to ask again from: the export waits for it, or fails naming it, never cut short without a word", async () => {
    const client = clientFromEnvironment({ env: { OPENMCP_URL: await listening(), OPENMCP_API_KEY: admin.slice('Bearer '.length) } });
    const issued = await h.call({ method: 'POST', url: '/v1/keys', auth: admin, payload: { role: 'agent', tenant: 'acme', name: 'subject-held' } });
    expect(issued.statusCode, issued.body).to.equal(201);
    const id = issued.json().id as string;
    const subject = `acme:agent:${id}`;
    await recordedCall(`${MARKER}-held-own`, id);
    const other = await recordedCall(`${MARKER}-held-other`);
    await recordedCall(`${MARKER}-held-own-2`, id);
    const whole = (await exportSubject(client, subject)).events.map((e) => e.id);
    // Another actor's event of the tenant, as a projector of a release before 2026-12-11 applied it (no actor).
    const old = other.events[0].position;
    const { actor } = await h.knex('rm_audit_events').where('position', old).first('actor');
    await h.knex('rm_audit_events').where('position', old).update({ actor: null });
    try {
      const res = await h.call({ method: 'GET', url: `/v1/subjects/${encodeURIComponent(subject)}/events?limit=100`, auth: admin });
      expect(res.statusCode, res.body).to.equal(200);
      const page = res.json() as { items: { id: string; position: number }[]; nextCursor?: string; held?: { position: number; reason: string; cursor?: string } };
      expect(page.items.map((e) => e.id)).to.deep.equal(whole.filter((_, i) => i < page.items.length));
      expect(page.items.every((e) => e.position < old)).to.equal(true);
      expect(page.nextCursor).to.equal(undefined);
      expect(page.held).to.include({ position: old, reason: 'unindexed' });
      const again = await client.subjects.events(subject, { cursor: page.held!.cursor });
      expect(again.items).to.deep.equal([]);
      expect(again.held).to.include({ position: old, reason: 'unindexed' });

      const failed = await exportSubject(client, subject, { sleep: async () => {} }).then(() => undefined, (err: { code?: string; message: string }) => err);
      expect(failed?.code).to.equal('SDK_SUBJECT_EXPORT_HELD');
      expect(failed?.message).to.include(`held at position ${old}`);
      // Filled while the export waits: it goes on from the hold, whole.
      const filled = await exportSubject(client, subject, { sleep: async () => void (await h.knex('rm_audit_events').where('position', old).update({ actor })) });
      expect(filled.events.map((e) => e.id)).to.deep.equal(whole);
    } finally {
      await h.knex('rm_audit_events').where('position', old).update({ actor });
    }
  });

  it("GET /v1/subjects/:subject/events lists no event whose plain data carries a look-alike of a payload sealed under the subject's key (a caller knowing its kid)", async () => {
    const victim = await h.key('agent', 'acme');
    const own = await recordedCall(`${MARKER}-victim`, victim.id);
    const kid = (own.events[0].data as { argumentsSealed: { kid: string } }).argumentsSealed.kid;
    // Another key of the tenant writes the victim's kid where data is kept in clear: a task's input
    // (this harness keeps it under store) and the arguments of a tool call made for it.
    const attacker = await h.key('operator', 'acme');
    const lookAlike = { kid, ct: '0x00', alg: 'A256GCM', iv: `0x${'0'.repeat(24)}`, tag: `0x${'0'.repeat(32)}` };
    const posted = await h.call({ method: 'POST', url: '/v1/tasks', auth: attacker.auth, payload: { steps: [{ tool: 'remote__echo', arguments: { text: 'x', note: lookAlike, argumentsSealed: lookAlike } }] } });
    expect(posted.statusCode, posted.body).to.equal(202);
    const task = `task-${posted.json().id}`;
    await until('the task is projected', async () => (await h.knex('rm_audit_events').where({ stream: task })).length > 0);
    expect((await h.knex('rm_audit_events').where({ stream: task }).first('body')).body).to.contain(kid);

    const res = await h.call({ method: 'GET', url: `/v1/subjects/${encodeURIComponent(`acme:agent:${victim.id}`)}/events`, auth: admin });
    expect(res.statusCode, res.body).to.equal(200);
    const streams = res.json().items.map((e: { stream: string }) => e.stream);
    expect(streams).to.not.include(task);
    // Its own sealed call still is (by its actor, and by its key).
    expect(streams).to.include(`toolcall-${own.id}`);
    expect(await h.knex('rm_subject_events').where({ ref: `kid:${kid}` }).pluck('position')).to.deep.equal(own.events.map((e) => e.position));
  });

  it('refuses bad input with clear errors: a malformed subject id (400), one with no key (404), another tenant (403), a non-admin (403)', async () => {
    const del = (subject: string, auth = admin) => h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(subject)}/key`, auth });
    const malformed = await del('not-a-subject');
    expect(malformed.statusCode).to.equal(400);
    // The path parameter is named as every other is on the wire (it was `subject`): docs/errors.md, field.
    expect(malformed.json()).to.include({ code: 'VALIDATION_FAILED', field: 'params.subject' });
    expect(malformed.json().detail).to.contain('<tenant>:<user|agent|system>:<actor id>');
    const unknown = await del('acme:user:nobody');
    expect(unknown.statusCode).to.equal(404);
    expect(unknown.json()).to.include({ code: 'SUBJECT_NOT_FOUND', field: 'params.subject' });
    const beta = (await h.key('admin', 'beta')).auth;
    const other = await del(`acme:agent:${caller.id}`, beta);
    expect(other.statusCode).to.equal(403);
    expect(other.json()).to.include({ code: 'FORBIDDEN', field: 'params.subject' });
    expect((await del(`acme:agent:${caller.id}`, (await h.key('operator', 'acme')).auth)).statusCode).to.equal(403);
    // A cross-tenant admin may erase a subject of any tenant.
    await recordedCall(`${MARKER}-root`);
    expect((await del(`acme:agent:${caller.id}`, (await h.key('admin', 'beta', true)).auth)).statusCode).to.equal(204);
  });

  it('openmcp tool-calls show prints the payload, then "erased"; openmcp subjects erase erases (again: still 0) and names a bad id', async () => {
    const client = clientFromEnvironment({ env: { OPENMCP_URL: await listening(), OPENMCP_API_KEY: admin.slice('Bearer '.length) } });
    const someone = await h.key('agent', 'acme');
    const { id } = await recordedCall(`${MARKER}-cli`, someone.id);
    let lines: string[] = [];
    const out = (l: string) => void lines.push(l);
    expect(await runToolCallsShow(client, id, {}, out)).to.equal(0);
    expect(lines).to.include(`arguments: {"text":"${MARKER}-cli"}`);
    const shownCall = await client.toolCalls.get(id);
    expect(lines).to.include(`arguments hash scheme: hmac-sha256-salted-v1, salt ${shownCall.argumentsSalt}`);
    expect(payloadMatchesHash(shownCall.arguments, shownCall.argumentsHash!, { scheme: shownCall.argumentsHashScheme, salt: shownCall.argumentsSalt })).to.equal(true);
    lines = [];
    expect(await runSubjectsErase(client, `acme:agent:${someone.id}`, out)).to.equal(0);
    expect(await runSubjectsErase(client, `acme:agent:${someone.id}`, out)).to.equal(0);
    expect(lines).to.deep.equal([`erased the key of acme:agent:${someone.id}`, `erased the key of acme:agent:${someone.id}`]);
    lines = [];
    // What a DPO keeps as the record of the request: which key, when, and the event whose proof shows it.
    const record = await client.subjects.show(`acme:agent:${someone.id}`);
    const [{ kid, createdAt, erasedAt, erasure }] = record.keys;
    expect(await runSubjectsShow(client, `acme:agent:${someone.id}`, {}, out)).to.equal(0);
    expect(lines).to.deep.equal([
      `subject acme:agent:${someone.id}`,
      `key ${kid}: made ${createdAt}, erased ${erasedAt}, recorded by SubjectKeyErased ${erasure!.eventId} (its proof: openmcp events proof ${erasure!.eventId})`,
    ]);
    lines = [];
    expect(await runSubjectsShow(client, `acme:agent:${someone.id}`, { json: true }, out)).to.equal(0);
    expect(JSON.parse(lines.join('\n'))).to.deep.equal(record);
    lines = [];
    expect(await runSubjectsShow(client, 'acme:user:nobody', {}, out)).to.equal(1);
    expect(lines[0]).to.match(/^error SUBJECT_NOT_FOUND: /);
    lines = [];
    expect(await runToolCallsShow(client, id, {}, out)).to.equal(0);
    expect(lines).to.include("arguments: Erased, only its hash: recorded encrypted (MCP_PAYLOAD_POLICY=encrypted), and the subject's key has been deleted since.");
    expect(lines).to.include("result: Erased, only its hash: recorded encrypted (MCP_PAYLOAD_POLICY=encrypted), and the subject's key has been deleted since.");
    expect(lines.join('\n')).to.not.contain(MARKER);
    // The hash still named salted (it is no SHA-256 to check a guess against), its salt gone.
    expect(lines).to.include('arguments hash scheme: hmac-sha256-salted-v1, salt (erased)');
    expect(lines).to.include('result hash scheme: hmac-sha256-salted-v1, salt (erased)');
    lines = [];
    expect(await runSubjectsErase(client, 'acme/agent', out)).to.equal(1);
    expect(lines[0]).to.match(/^error VALIDATION_FAILED: .*<tenant>:<user\|agent\|system>:<actor id>/);
  });

  it("openmcp tool-calls show names the salt of a withheld error's salted digest (ToolCallFailed v2) while the key exists, '(erased)' after, as it does a payload's", async () => {
    const client = clientFromEnvironment({ env: { OPENMCP_URL: await listening(), OPENMCP_API_KEY: admin.slice('Bearer '.length) } });
    const someone = await h.key('agent', 'acme');
    const head = await h.store.headPosition();
    await gw.callTool({ tenant: 'acme', actor: { kind: 'agent', id: someone.id } }, 'remote__reject', { message: `no such account: ${MARKER}` }).catch(() => undefined);
    const failed = (await h.store.readAll({ after: head, limit: 100 })).find((e) => e.type === 'ToolCallFailed')!;
    expect(failed.version).to.equal(2);
    const id = failed.stream.slice('toolcall-'.length);
    await until('the read model shows the failure', async () => (await h.knex('rm_tool_calls').where({ id, status: 'failed' })).length === 1);
    let lines: string[] = [];
    const out = (l: string) => void lines.push(l);
    expect(await runToolCallsShow(client, id, {}, out)).to.equal(0);
    const shownCall = await client.toolCalls.get(id);
    expect(shownCall.errorSalt).to.match(/^0x[0-9a-f]{64}$/);
    expect(lines).to.include(`error digest scheme: hmac-sha256-salted-v1, salt ${shownCall.errorSalt}`);
    lines = [];
    expect(await runSubjectsErase(client, `acme:agent:${someone.id}`, out)).to.equal(0);
    lines = [];
    expect(await runToolCallsShow(client, id, {}, out)).to.equal(0);
    expect(lines).to.include('error digest scheme: hmac-sha256-salted-v1, salt (erased)');
    expect(lines.join('\n')).to.not.contain(MARKER);
  });
});
