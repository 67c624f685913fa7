import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { catalog } from '../../events';
import { proofsService } from '../../src/api/proofs-service';
import { toHex } from '../../src/core/hex';
import { handleCommand } from '../../src/domain/handle-command';
import { taskDecider } from '../../src/domain/task/task.decider';
import { BatchLog } from '../../src/proofs/batch-log';
import { createSealer, type Sealer } from '../../src/proofs/sealer';
import { NotFoundApiError, OpenMcpClient, ValidationApiError } from '../../src/sdk';
import { recordCall } from '../support/tool-call-events';
import { makeHarness, type Harness } from '../api/support/harness';

/**
 * The `all` pagers of every paginated list, against a listening server with the real read models,
 * key store and proofs queries: more than one page each, and a list that grows during the walk.
 */
describe('SDK pagers (tasks.all, tasks.allEvents, toolCalls.all, events.all, keys.all, batches.all) against a listening server', function () {
  this.timeout(30_000);
  let h: Harness;
  let sealer: Sealer;
  let client: OpenMcpClient;
  /** The list requests the client made (path and query), in order. */
  let asked: string[];

  before(async () => {
    let svc: ReturnType<typeof proofsService> | undefined;
    h = await makeHarness({
      proofs: {
        getProof: (t, id) => svc!.getProof(t, id),
        listBatches: (p) => svc!.listBatches(p),
        getBatch: (id) => svc!.getBatch(id),
        getBatchEvents: (id) => svc!.getBatchEvents(id),
      },
    });
    const batchLog = new BatchLog(h.store);
    svc = proofsService({ store: h.store, batchLog, findEvent: async () => undefined, retryAfterSeconds: 3, anchorStream: async () => undefined }, h.deps.readModels);
    sealer = createSealer(h.store, { sealerKey: toHex(randomBytes(32)), maxEvents: 1000, maxWaitMs: 0 }, batchLog);
    const baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const recording: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      if (init?.method === 'GET') asked.push(decodeURIComponent(url.pathname + url.search));
      return fetch(input, init);
    };
    client = new OpenMcpClient({ baseUrl, apiKey: (await h.key('admin', 'acme')).key, fetch: recording });
  });
  beforeEach(() => (asked = []));
  after(() => h.close());

  const submit = async (n: number) => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) ids.push((await client.tasks.submit({ instruction: `pager ${i}` })).id);
    return ids;
  };

  /** Every item of `it`; `grow` runs once, after the first item, while the walk is between pages. */
  async function walk<T>(it: AsyncIterable<T>, grow: () => Promise<unknown> = async () => {}): Promise<T[]> {
    const out: T[] = [];
    for await (const x of it) {
      out.push(x);
      if (out.length === 1) await grow();
    }
    return out;
  }

  const cursors = () => asked.map((u) => new URLSearchParams(u.split('?')[1] ?? '').get('cursor'));

  it('tasks.all: newest first over several pages; tasks submitted during the walk are not seen, none repeats', async () => {
    const ids = (await submit(5)).reverse();
    let late: string[] = [];
    const seen = (await walk(client.tasks.all({ limit: 2 }), async () => (late = await submit(2)))).map((t) => t.id);
    expect(new Set(seen).size).to.equal(seen.length);
    expect(seen.slice(0, 5)).to.deep.equal(ids);
    expect(seen).not.to.include.members(late);
    expect(asked.filter((u) => u.startsWith('/v1/tasks?'))).to.have.length(Math.ceil(seen.length / 2));
  });

  it('toolCalls.all: newest first over several pages, the filters on every page; calls made during the walk are not seen; toolCalls.get', async () => {
    const call = async (tenant: string, at?: string, outcome?: 'completed' | 'failed') => {
      const c = await recordCall(h.store, { tenant, server: 'sdk', at, outcome });
      await h.deps.readModels.waitForPosition(c.position, 5000);
      return c.id;
    };
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push(await call('acme', `2026-09-01T00:00:0${i}.000Z`, i % 2 ? 'failed' : 'completed'));
    await call('beta', '2026-09-01T00:00:09.000Z', 'failed');
    let late = '';
    const seen = (await walk(client.toolCalls.all({ server: 'sdk', limit: 2 }), async () => (late = await call('acme')))).map((c) => c.id);
    expect(seen).to.deep.equal([...made].reverse());
    expect(seen).not.to.include(late);
    expect(asked).to.have.length(3);
    for (const u of asked) expect(u).to.match(/^\/v1\/tool-calls\?.*server=sdk/);
    const failed = await walk(client.toolCalls.all({ server: 'sdk', status: 'failed', limit: 1 }));
    expect(failed.map((c) => c.id)).to.deep.equal([made[3], made[1]]);
    expect(failed[0].error).to.deep.equal({ code: 'MCP_UPSTREAM_TIMEOUT', message: 'no answer in 30000 ms' });
    const one = await client.toolCalls.get(made[0]);
    expect(one).to.deep.include({ id: made[0], server: 'sdk', tool: 'echo', status: 'completed', arguments: { text: 'hi' }, requestedAt: '2026-09-01T00:00:00.000Z' });
    const theirs = (await walk(new OpenMcpClient({ ...client.options, apiKey: (await h.key('viewer', 'beta')).key }).toolCalls.all({ server: 'sdk' })))[0].id;
    expect(await client.toolCalls.get(theirs).catch((e) => e)).to.be.instanceOf(NotFoundApiError);
    const bad = await client.toolCalls.list({ status: 'done' as 'failed' }).catch((e) => e);
    expect(bad).to.be.instanceOf(ValidationApiError);
    expect(bad.field).to.equal('querystring.status');
  });

  it('events.all: from `after`, position order over several pages (the cursor sent without after); events appended during the walk come at the end', async () => {
    const from = (await client.events.list({ limit: 1000 })).items.at(-1)!.position;
    await submit(3);
    asked = [];
    let late = '';
    const seen = await walk(client.events.all({ after: from, limit: 2 }), async () => ([late] = await submit(1)));
    const positions = seen.map((e) => e.position);
    expect(positions).to.deep.equal([...positions].sort((a, b) => a - b));
    expect(new Set(positions).size).to.equal(positions.length);
    expect(positions[0]).to.be.greaterThan(from);
    expect(seen.filter((e) => e.type === 'TaskSubmitted')).to.have.length(4);
    expect(seen.at(-1)!.stream).to.equal(`task-${late}`);
    expect(asked).to.have.length(Math.ceil(seen.length / 2)).and.to.have.length.greaterThan(1);
    expect(asked[0]).to.include(`after=${from}`);
    for (const u of asked.slice(1)) expect(u).to.include('cursor=').and.not.include('after=');
    expect(cursors().slice(1)).to.not.include(null);
  });

  it('events.all: the query (type) holds on every page, and a page without nextCursor ends the walk', async () => {
    await submit(3);
    const seen = await walk(client.events.all({ type: 'TaskSubmitted', limit: 2 }));
    expect(seen.map((e) => e.type)).to.deep.equal(Array(seen.length).fill('TaskSubmitted'));
    expect(seen.length).to.be.greaterThan(2);
    expect(asked).to.have.length(Math.ceil(seen.length / 2));
    for (const u of asked) expect(u).to.include('type=TaskSubmitted');
  });

  it("tasks.allEvents: a task's trail over several pages; an event the task records during the walk comes at the end", async () => {
    const [id] = await submit(1);
    const started = await handleCommand({ store: h.store, catalog }, { decider: taskDecider, stream: `task-${id}`, command: { type: 'StartTask' }, metadata: { tenant: 'acme', actor: { kind: 'agent', id: 'w' } } });
    await h.deps.readModels.waitForPosition(started.events[0].position, 5000);
    const seen = await walk(client.tasks.allEvents(id, { limit: 1 }), () => client.tasks.cancel(id, 'mid-walk'));
    expect(seen.map((e) => e.type)).to.deep.equal(['TaskSubmitted', 'TaskStarted', 'TaskCancelled']);
    expect(asked).to.have.length(3);
    const fromSecond = await walk(client.tasks.allEvents(id, { after: seen[0].position, limit: 1 }));
    expect(fromSecond.map((e) => e.type)).to.deep.equal(['TaskStarted', 'TaskCancelled']);
  });

  it('keys.all: oldest first over several pages; keys issued during the walk come at the end, none repeats', async () => {
    const tenant = 'pager-keys';
    // A cross-tenant admin issues and lists another tenant's keys; acme's admin lists its own.
    const admin = new OpenMcpClient({ ...client.options, apiKey: (await h.key('admin', 'ops', true)).key });
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await admin.keys.create({ role: 'viewer', tenant, name: `k${i}` })).id);
    let late = '';
    const seen = (await walk(admin.keys.all({ tenant, limit: 2 }), async () => (late = (await admin.keys.create({ role: 'viewer', tenant })).id))).map((k) => k.id);
    expect(seen).to.deep.equal([...made, late]);
    expect(asked.filter((u) => u.startsWith('/v1/keys?'))).to.have.length(3);
    await client.keys.create({ role: 'viewer', tenant: 'acme' });
    const own = (await walk(client.keys.all({ limit: 1 }))).map((k) => k.tenant);
    expect(own.length).to.be.greaterThan(1);
    expect(new Set(own)).to.deep.equal(new Set(['acme']));
  });

  it('batches.all: newest first over several pages; a batch sealed during the walk is not seen, none repeats', async () => {
    for (let i = 0; i < 3; i++) {
      await submit(1);
      await sealer.flush();
    }
    const newest = (await client.batches.list({ limit: 1 })).items[0].id;
    asked = [];
    const seen = (await walk(client.batches.all({ limit: 2 }), async () => (await submit(1), await sealer.flush()))).map((b) => b.id);
    expect(seen).to.deep.equal(Array.from({ length: newest + 1 }, (_, i) => newest - i));
    expect(asked).to.have.length(Math.ceil(seen.length / 2));
    expect(cursors().slice(1)).to.not.include(null);
    expect((await client.batches.list({ limit: 1 })).items[0].id).to.equal(newest + 1);
  });

  it('from a cursor given in the query, and no further pages once the caller leaves the loop', async () => {
    const first = await client.events.list({ limit: 2 });
    asked = [];
    const rest = [];
    for await (const e of client.events.all({ limit: 2, cursor: first.nextCursor })) {
      rest.push(e);
      if (rest.length === 3) break;
    }
    expect(rest[0].position).to.be.greaterThan(first.items[1].position);
    expect(asked).to.have.length(2);
    expect(cursors()[0]).to.equal(first.nextCursor);
  });
});
