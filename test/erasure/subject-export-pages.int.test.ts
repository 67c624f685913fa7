import { expect } from 'chai';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { cachedSubjectKeys } from '../../src/erasure/cached-subject-keys';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import type { McpGateway } from '../../src/mcp/gateway';
import { printableJson } from '../../src/cli/printable';
import { OpenMcpClient } from '../../src/sdk/client';
import { exportSubject } from '../../src/sdk/subject-export';
import { makeGatewayHarness } from '../api/support/gateway-harness';
import type { Harness } from '../api/support/harness';
import { until } from '../mcp/support/until';
import { MAX_PAGE_CHARS } from '../../src/readmodels/page-fit';
import type { AuditEventView } from '../../src/readmodels/port';
import { loadSubjectDetails } from '../../src/readmodels/subject-details';
import { LIVE_TABLES } from '../../projections/tables';
import { repairSubjectIndex, unindexedEvents } from '../../src/readmodels/subject-index-repair';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';
import { z } from 'zod';
import { responseSchema, undeclared } from '../api/support/undeclared';

const MARKER = 'export-pages-marker-3141';

/**
 * `openmcp subjects export` reads what it needs of the subject's tasks and tool calls with the pages
 * of its events (GET /v1/subjects/:subject/events?include=details), not one request per task and
 * per call: the same export, byte for byte, as the per-item path it takes against a server without
 * `include` (tasks, their trails by other actors, their step calls, the subject's own calls; payloads
 * sealed under an erased key and under a live one).
 */
for (const dialect of ['sqlite', 'mysql'] as const) describe(`subject export: details with the pages of events against one request per task and call (${dialect})`, function () {
  this.timeout(60_000);
  let upstream: HttpExample;
  let h: Harness;
  let gw: McpGateway;
  let close: () => Promise<void>;
  let baseUrl: string;
  let admin: { auth: string; key: string };

  let db: { url: string; drop(): Promise<void> } | undefined;

  before(async function () {
    if (dialect === 'mysql') {
      await requireService(this, 'MariaDB', mysqlAvailable);
      db = await createTestDatabase('omc_export_pages');
    }
    upstream = await startHttpExample({ testTools: true });
    const keys = cachedSubjectKeys(new MemorySubjectKeyStore());
    ({ h, gw, close } = await makeGatewayHarness({ subjectKeys: keys, sealTaskInputs: true }, 10_000, { payloadPolicy: 'encrypted', subjectKeys: keys, cacheTtlMs: 0 }, db ? { databaseUrl: db.url } : {}));
    admin = await h.key('admin', 'acme');
    const reg = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: (await h.key('admin', 'acme', true)).auth, payload: { name: 'remote', transport: 'http', url: upstream.url } });
    expect(reg.statusCode, reg.body).to.equal(201);
    baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(async () => {
    await close?.();
    await upstream?.close();
    await db?.drop();
  });

  /** A task of `submitter` with one step, its call made by a worker on its behalf; cancelled by the admin (a trail event of another actor) when `cancel`. */
  async function task(submitter: { auth: string; id: string }, tag: string, cancel: boolean): Promise<string> {
    const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: submitter.auth, payload: { instruction: `${MARKER}-${tag} pay Alice`, steps: [{ tool: 'remote__echo', arguments: { text: `${MARKER}-${tag}-arg` } }] } });
    expect(res.statusCode, res.body).to.equal(202);
    const id = res.json().id as string;
    await gw.callTool({ tenant: 'acme', actor: { kind: 'agent', id: 'agent-worker-7' }, subject: { kind: 'user', id: submitter.id }, taskId: id }, 'remote__echo', { text: `${MARKER}-${tag}-call` });
    if (cancel) {
      const cancelled = await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: admin.auth, payload: {} });
      expect(cancelled.statusCode, cancelled.body).to.equal(202);
    }
    return id;
  }

  /** Every event in the audit log read model and every call completed. */
  async function appliedAll(): Promise<void> {
    await until('every call completed', async () => (await h.knex('rm_tool_calls').where('status', 'requested')).length === 0);
    const head = await h.store.headPosition();
    await until('the read models applied every event', async () => (await h.knex('rm_audit_events').where('position', head)).length === 1);
  }

  /** `body` as the served OpenAPI document (/docs) declares the answer of GET `path`: valid, nothing undeclared (the conformance test's check). */
  async function conforms(body: unknown, path: string): Promise<void> {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const declared = responseSchema(doc, 'get', path);
    const parsed = z.fromJSONSchema({ ...declared, components: doc.components } as Parameters<typeof z.fromJSONSchema>[0], { defaultTarget: 'openapi-3.0' }).safeParse(body);
    expect(parsed.success, `${path}: ${parsed.error?.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`).to.equal(true);
    expect(undeclared(body, declared), path).to.deep.equal([]);
  }

  /** The export as `openmcp subjects export` writes it, and the requests it took; `perItem`: as against a server without `include`. */
  async function exported(subject: string, perItem: boolean, sleep?: (ms: number) => Promise<void>): Promise<{ text: string; requests: string[] }> {
    const requests: string[] = [];
    const client = new OpenMcpClient({
      baseUrl,
      apiKey: admin.key,
      fetch: (input, init) => {
        const url = new URL(String(input));
        if (perItem) url.searchParams.delete('include');
        requests.push(`${url.pathname}${url.search}`);
        return fetch(url, init);
      },
    });
    const x = await exportSubject(client, subject, { now: () => new Date('2026-12-07T09:00:00.000Z'), ...(sleep ? { sleep } : {}) });
    return { text: printableJson(x, 2), requests };
  }

  it('is byte-identical to the per-item export, in a request per page of events (and the keys), not per task and call', async () => {
    const submitter = await h.key('operator', 'acme');
    const subject = `acme:user:${submitter.id}`;
    const erasedTask = await task(submitter, 'erased', true);
    await gw.callTool({ tenant: 'acme', actor: { kind: 'user', id: submitter.id } }, 'remote__echo', { text: `${MARKER}-own-erased` });
    const erase = await h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(subject)}/key`, auth: admin.auth });
    expect(erase.statusCode, erase.body).to.equal(204);
    // After the erasure, a new key: live payloads beside erased ones.
    const liveTasks = [await task(submitter, 'live-1', true), await task(submitter, 'live-2', false)];
    await gw.callTool({ tenant: 'acme', actor: { kind: 'user', id: submitter.id } }, 'remote__echo', { text: `${MARKER}-own-live` });
    // Someone else's task and call: in neither export.
    await task(await h.key('operator', 'acme'), 'other', true);
    await appliedAll();

    const perItem = await exported(subject, true);
    const paged = await exported(subject, false);
    expect(paged.text).to.equal(perItem.text);

    const x = JSON.parse(paged.text);
    expect(x.tasks.map((t: { id: string }) => t.id)).to.deep.equal([erasedTask, ...liveTasks]);
    expect(x.tasks[0]).to.include({ instructionErased: true });
    expect(x.tasks[1]).to.include({ instruction: `${MARKER}-live-1 pay Alice` });
    expect(x.toolCalls).to.have.length(5);
    expect(x.toolCalls.filter((c: { argumentsErased?: true }) => c.argumentsErased)).to.have.length(2);
    expect(x.toolCalls.map((c: { arguments?: { text: string } }) => c.arguments?.text).filter(Boolean).sort()).to.deep.equal([`${MARKER}-live-1-call`, `${MARKER}-live-2-call`, `${MARKER}-own-live`]);
    // The cancellations are the admin's: in the export as part of the tasks' trails.
    expect(x.events.filter((e: { type: string }) => e.type === 'TaskCancelled')).to.have.length(2);
    expect(paged.text).to.not.contain(`${MARKER}-other`);
    // A task sealed under the erased key keeps its hash's scheme (TaskSubmitted v4), the salt gone.
    expect(x.tasks[0]).to.include({ instructionHashScheme: 'hmac-sha256-salted-v1' }).and.not.have.property('instructionSalt');

    const subjectPath = `/v1/subjects/${encodeURIComponent(subject)}`;
    expect(paged.requests).to.deep.equal([subjectPath, `${subjectPath}/events?limit=1000&include=details`]);
    const page = await h.call({ method: 'GET', url: `${subjectPath}/events?limit=1000&include=details`, auth: admin.auth });
    await conforms(page.json(), '/v1/subjects/{subject}/events');
    // Per item: a request for each of the 3 tasks, each of their trails, each of the 5 calls.
    expect(perItem.requests).to.have.length(2 + 3 * 2 + 5);
  });

  it('under encrypted, calls kept by hash only (ToolCallRequested / ToolCallCompleted v4) and withheld errors (ToolCallFailed v2), before and after the erasure: byte-identical, with their salts while the key lives and their schemes after', async () => {
    const submitter = await h.key('operator', 'acme');
    const subject = `acme:user:${submitter.id}`;
    const big = (tag: string) => `${MARKER}-${tag}-${'y'.repeat(300_000)}`;
    const worker = (id: string) => ({ tenant: 'acme', actor: { kind: 'agent' as const, id: 'agent-worker-7' }, subject: { kind: 'user' as const, id } });
    /** A worker's call on the subject's behalf kept by hash only (over 256 KiB both ways), and one whose error is withheld. */
    const calls = async (tag: string) => {
      await gw.callTool(worker(submitter.id), 'remote__echo', { text: big(tag) });
      await gw.callTool(worker(submitter.id), 'remote__reject', { message: `${MARKER}-${tag}-rejected` }).catch(() => undefined);
    };
    await calls('salt-erased');
    const erase = await h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(subject)}/key`, auth: admin.auth });
    expect(erase.statusCode, erase.body).to.equal(204);
    await calls('salt-live');
    await appliedAll();

    const perItem = await exported(subject, true);
    const paged = await exported(subject, false);
    expect(paged.text).to.equal(perItem.text);
    const subjectPath = `/v1/subjects/${encodeURIComponent(subject)}`;
    expect(paged.requests).to.deep.equal([subjectPath, `${subjectPath}/events?limit=1000&include=details`]);

    type Call = { status: string; argumentsHashScheme?: string; argumentsSalt?: string; resultHashScheme?: string; resultSalt?: string; errorSalt?: string; error?: { message: string } };
    const x = JSON.parse(paged.text) as { toolCalls: Call[]; events: { type: string; version: number }[] };
    const byVersion = x.events.filter((e) => e.type.startsWith('ToolCall')).map((e) => `${e.type} v${e.version}`);
    expect(byVersion.filter((v) => v === 'ToolCallRequested v4'), 'the arguments kept by hash only, found by their salt alone').to.have.length(2);
    expect(byVersion.filter((v) => v === 'ToolCallCompleted v4')).to.have.length(2);
    expect(byVersion.filter((v) => v === 'ToolCallFailed v2')).to.have.length(2);
    const completed = x.toolCalls.filter((c) => c.status === 'completed');
    const failed = x.toolCalls.filter((c) => c.status === 'failed');
    expect(completed).to.have.length(2);
    expect(failed).to.have.length(2);
    // Erased first: the schemes stay, the salts are gone; live: both.
    expect(completed[0]).to.include({ argumentsHashScheme: 'hmac-sha256-salted-v1', resultHashScheme: 'hmac-sha256-salted-v1' }).and.not.have.any.keys('argumentsSalt', 'resultSalt');
    expect(completed[1]).to.include({ argumentsHashScheme: 'hmac-sha256-salted-v1', resultHashScheme: 'hmac-sha256-salted-v1' });
    expect(completed[1].argumentsSalt).to.match(/^0x[0-9a-f]{64}$/);
    expect(completed[1].resultSalt).to.match(/^0x[0-9a-f]{64}$/);
    expect(failed[0]).to.not.have.property('errorSalt');
    expect(failed[1].errorSalt).to.match(/^0x[0-9a-f]{64}$/);
    expect(failed[1].error?.message).to.match(/hmac-sha256-salted-v1 0x[0-9a-f]{64}$/);
    // The sealed salts themselves stay in the events, never in the views.
    expect(JSON.stringify(x.toolCalls)).to.not.match(/SaltSealed/);

    // The new fields as the served OpenAPI document declares them (the conformance test's check, which
    // runs without MCP_PAYLOAD_POLICY=encrypted): the page with its details, and each call's own route.
    const page = await h.call({ method: 'GET', url: `${subjectPath}/events?limit=1000&include=details`, auth: admin.auth });
    expect(page.statusCode, page.body.slice(0, 300)).to.equal(200);
    await conforms(page.json(), '/v1/subjects/{subject}/events');
    for (const c of page.json().toolCalls as { id: string }[]) {
      const one = await h.call({ method: 'GET', url: `/v1/tool-calls/${c.id}`, auth: admin.auth });
      expect(one.json(), 'the page holds the call as its own route shows it').to.deep.equal(c);
      await conforms(one.json(), '/v1/tool-calls/{id}');
    }
  });

  it("a worker's calls kept by hash only and with a withheld error that a projector of an earlier release applied (no actor, no index rows): the include=details page is held before them, the export waits until the projectors' sweep fills them, then has them by their salts' key, by both paths alike", async () => {
    const submitter = await h.key('operator', 'acme');
    const subject = `acme:user:${submitter.id}`;
    const worker = { tenant: 'acme', actor: { kind: 'agent' as const, id: 'agent-worker-7' }, subject: { kind: 'user' as const, id: submitter.id } };
    // Its own call first, so the subject has events of its own either way.
    await gw.callTool({ tenant: 'acme', actor: { kind: 'user', id: submitter.id } }, 'remote__echo', { text: `${MARKER}-sweep-own` });
    const head = await h.store.headPosition();
    await gw.callTool(worker, 'remote__echo', { text: `${MARKER}-sweep-${'z'.repeat(300_000)}` });
    await gw.callTool(worker, 'remote__reject', { message: `${MARKER}-sweep-rejected` }).catch(() => undefined);
    await appliedAll();
    const salted = (await h.store.readAll({ after: head, limit: 100 })).filter((e) => `${e.type} v${e.version}`.match(/^ToolCall(Requested v4|Completed v4|Failed v2)$/));
    expect(salted.map((e) => `${e.type} v${e.version}`)).to.deep.equal(['ToolCallRequested v4', 'ToolCallCompleted v4', 'ToolCallFailed v2']);
    const expected = JSON.parse((await exported(subject, false)).text) as { events: { id: string }[]; toolCalls: { id: string }[] };
    for (const e of salted) expect(expected.events.map((x) => x.id), `${e.type} v${e.version} in the export`).to.include(e.id);

    // As a projector of the release before wrote them: without their actor and their index rows.
    const positions = salted.map((e) => e.position);
    await h.knex(LIVE_TABLES.subjectEvents).whereIn('position', positions).delete();
    await h.knex(LIVE_TABLES.auditEvents).whereIn('position', positions).update({ actor: null });
    // The page with its details ends before the first of them, held there (not passed over, nor the end).
    const path = `/v1/subjects/${encodeURIComponent(subject)}/events`;
    const heldPage = (await h.call({ method: 'GET', url: `${path}?limit=1000&include=details`, auth: admin.auth })).json();
    expect(heldPage.held).to.include({ position: salted[0].position, reason: 'unindexed' });
    expect(heldPage).to.not.have.property('nextCursor');
    expect(heldPage.items.map((e: AuditEventView) => e.id), 'the hole the sweep is for').to.not.include(salted[0].id);
    expect(heldPage.toolCalls, 'the held page holds its own details').to.have.length.above(0);
    await conforms(heldPage, '/v1/subjects/{subject}/events');

    // The export waits at the hold (the sweep fills it meanwhile) and goes on from held.cursor, with include=details.
    expect(await unindexedEvents(h.knex)).to.equal(3);
    let filled = 0;
    const paged = await exported(subject, false, async () => void (filled ||= await repairSubjectIndex(h.knex)));
    expect(filled).to.equal(3);
    expect(paged.requests.filter((r) => r.startsWith(`${path}?`))).to.deep.equal([`${path}?limit=1000&include=details`, `${path}?limit=1000&cursor=${heldPage.held.cursor}&include=details`]);
    const perItem = await exported(subject, true);
    expect(paged.text).to.equal(perItem.text);
    const x = JSON.parse(paged.text) as { events: { id: string }[]; toolCalls: { id: string }[] };
    expect(x.events.map((e) => e.id)).to.deep.equal(expected.events.map((e) => e.id));
    expect(x.toolCalls.map((c) => c.id)).to.deep.equal(expected.toolCalls.map((c) => c.id));
  });

  it("sizes a page's details before reading them: a first event whose task and calls alone would pass the budget is kept without them (asked for one by one), the page ends there", async () => {
    const submitter = await h.key('operator', 'acme');
    const id = await task(submitter, 'budget', false);
    await appliedAll();
    const list = await h.call({ method: 'GET', url: `/v1/subjects/${encodeURIComponent(`acme:user:${submitter.id}`)}/events?limit=1000`, auth: admin.auth });
    const items = list.json().items as AuditEventView[];
    expect(items[0]).to.include({ stream: `task-${id}`, type: 'TaskSubmitted' });

    const whole = await loadSubjectDetails(h.knex, LIVE_TABLES, 'acme', items);
    expect(whole.taken).to.equal(items.length);
    expect(whole.tasks.map((t) => t.id)).to.deep.equal([id]);
    expect(whole.toolCalls).to.have.length(1);
    expect(whole.taskEvents.map((e) => e.stream)).to.include(`task-${id}`);

    const first = JSON.stringify(items[0]).length;
    const tight = await loadSubjectDetails(h.knex, LIVE_TABLES, 'acme', items, { budget: first + 100 });
    expect(tight).to.deep.equal({ taken: 1, tasks: [], taskEvents: [], toolCalls: [] });
    // Another tenant's: none, as GET /v1/tasks/:id answers 404.
    expect(await loadSubjectDetails(h.knex, LIVE_TABLES, 'beta', items)).to.deep.equal({ taken: items.length, tasks: [], taskEvents: [], toolCalls: [] });
  });

  it("include=details: a task (its view, trail, step calls) and a call go with the page of the subject's first event in its stream, not again with each later page naming it", async () => {
    const submitter = await h.key('operator', 'acme');
    const id = await task(submitter, 'twice', false);
    // A second event of the subject in the task's stream: its own cancellation.
    const cancelled = await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: submitter.auth, payload: {} });
    expect(cancelled.statusCode, cancelled.body).to.equal(202);
    await appliedAll();
    const url = `/v1/subjects/${encodeURIComponent(`acme:user:${submitter.id}`)}/events?limit=1&include=details`;
    const seen: { streams: string[]; tasks: string[]; calls: string[]; trail: number }[] = [];
    for (let cursor: string | undefined, first = true; first || cursor; first = false) {
      const res = await h.call({ method: 'GET', url: `${url}${cursor ? `&cursor=${cursor}` : ''}`, auth: admin.auth });
      expect(res.statusCode, res.body.slice(0, 300)).to.equal(200);
      const body = res.json();
      seen.push({ streams: body.items.map((e: { stream: string }) => e.stream), tasks: body.tasks.map((t: { id: string }) => t.id), calls: body.toolCalls.map((c: { id: string }) => c.id), trail: body.taskEvents.length });
      cursor = body.nextCursor;
    }
    const onTask = seen.filter((p) => p.streams[0] === `task-${id}`);
    expect(onTask).to.have.length(2);
    expect(onTask[0].tasks).to.deep.equal([id]);
    expect(onTask[0].trail).to.be.greaterThan(1);
    expect(onTask[1]).to.deep.include({ tasks: [], trail: 0 });
    // The step call: once, with the task or with its own first event, whichever page comes first.
    expect(seen.flatMap((p) => p.calls)).to.have.length(1);
  });

  it('include=details: pages end within MAX_PAGE_CHARS with their details (never empty), naming each call once; details only of the key\'s own tenant; another include is 400', async () => {
    const subject = await h.key('operator', 'acme');
    const big = 'x'.repeat(200_000);
    for (let i = 0; i < 12; i++) await gw.callTool({ tenant: 'acme', actor: { kind: 'user', id: subject.id } }, 'remote__echo', { text: `${i} ${big}` });
    // The audit log's projector applies on its own: a call completed in rm_tool_calls may not be in the subject's list yet.
    // Past them, a row of the tenant an older release's projector applied (no actor): every page that reaches it is held.
    const before = await h.store.headPosition();
    await gw.callTool({ tenant: 'acme', actor: { kind: 'agent', id: 'agent-other' } }, 'remote__echo', { text: `${MARKER}-after` });
    await appliedAll();
    const unindexed = (await h.store.readAll({ after: before, limit: 10 }))[0].position;
    await h.knex(LIVE_TABLES.auditEvents).where('position', unindexed).update({ actor: null });
    const url = (q: string) => `/v1/subjects/${encodeURIComponent(`acme:user:${subject.id}`)}/events?limit=1000${q}`;
    const plain = await h.call({ method: 'GET', url: url(''), auth: admin.auth });
    expect(plain.statusCode, plain.body.slice(0, 300)).to.equal(200);
    expect(plain.json()).to.not.have.any.keys('nextCursor', 'tasks', 'taskEvents', 'toolCalls');
    expect(plain.json().items).to.have.length(24);
    expect(plain.json().held).to.include({ position: unindexed, reason: 'unindexed' });

    const items: string[] = [];
    const calls: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await h.call({ method: 'GET', url: url(`&include=details${cursor ? `&cursor=${cursor}` : ''}`), auth: admin.auth });
      expect(res.statusCode, res.body.slice(0, 300)).to.equal(200);
      pages++;
      const body = res.json();
      expect(body.items, 'never an empty page behind a cursor').to.not.be.empty;
      // Within the budget, give or take what the views add to the recorded rows (ids, times, opened salts).
      expect(res.body.length).to.be.at.most(MAX_PAGE_CHARS + 2_000 * (body.items.length + body.toolCalls.length));
      // A page cut by its details has the rest behind nextCursor, not held; the last one is held after its last event.
      if (body.nextCursor) expect(body).to.not.have.property('held');
      else expect(body.held).to.deep.equal({ position: unindexed, reason: 'unindexed', cursor: plain.json().held.cursor });
      items.push(...body.items.map((e: { id: string }) => e.id));
      for (const c of body.toolCalls as { id: string; arguments: { text: string } }[]) {
        expect(c.arguments.text.endsWith(big), 'opened').to.equal(true);
        calls.push(c.id);
      }
      cursor = body.nextCursor;
    } while (cursor);
    expect(pages).to.be.greaterThan(1);
    expect(items).to.deep.equal(plain.json().items.map((e: { id: string }) => e.id));
    // A call whose two events fall on two pages is in both: the export keeps the first.
    expect(new Set(calls)).to.have.property('size', 12);

    // A cross-tenant admin of another tenant lists the events, but GET /v1/tool-calls/:id would answer it 404: no details either.
    const beta = await h.call({ method: 'GET', url: url('&limit=2&include=details').replace('limit=1000&', ''), auth: (await h.key('admin', 'beta', true)).auth });
    expect(beta.statusCode, beta.body.slice(0, 300)).to.equal(200);
    expect(beta.json()).to.deep.include({ tasks: [], taskEvents: [], toolCalls: [] });
    expect(beta.json().items).to.have.length(2);

    const bad = await h.call({ method: 'GET', url: url('&include=everything'), auth: admin.auth });
    expect(bad.statusCode).to.equal(400);
    expect(bad.json()).to.include({ code: 'VALIDATION_FAILED', field: 'querystring.include' });
    expect(await repairSubjectIndex(h.knex)).to.equal(1);
  });
});
