import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { proofsService } from '../../src/api/proofs-service';
import { createEvent } from '../../src/core/envelope';
import { toHex } from '../../src/core/hex';
import { AUDIT_TENANT, ANCHORER_ACTOR } from '../../events/audit-streams';
import { BatchLog } from '../../src/proofs/batch-log';
import { createSealer } from '../../src/proofs/sealer';
import { makeHarness, type Harness } from './support/harness';
import { responseSchema, undeclared } from './support/undeclared';

const ANCHOR_STREAM = 'auditanchor-31337.0x5fbdb2315678afecb367f032d93f642f64180aa3.0123456789abcdef';

describe('REST proofs and batches over the real proofs queries (src/proofs)', function () {
  this.timeout(20_000);
  let h: Harness;
  let anchored = false;
  let k: Record<string, string>;
  let eventId: string;

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
    svc = proofsService(
      { store: h.store, batchLog, findEvent: async () => undefined, retryAfterSeconds: 3, anchorStream: async () => (anchored ? ANCHOR_STREAM : undefined) },
      h.deps.readModels,
    );
    k = {
      acme: (await h.key('auditor', 'acme')).auth,
      beta: (await h.key('auditor', 'beta')).auth,
      global: (await h.key('auditor', 'ops', true)).auth,
      agent: (await h.key('agent', 'acme')).auth,
    };
    const sealer = createSealer(h.store, { sealerKey: toHex(randomBytes(32)), maxEvents: 1000, maxWaitMs: 0 }, batchLog);
    for (let i = 0; i < 3; i++) {
      const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: { instruction: `t${i}` } });
      eventId ??= (await h.store.readStream(`task-${res.json().id}`))[0].id;
    }
    for (let i = 0; i < 2; i++) {
      await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: { instruction: `u${i}` } });
      await sealer.flush();
    }
  });
  after(() => h.close());

  const get = (url: string, auth: string) => h.call({ method: 'GET', url, auth });

  it('lists sealed batches newest first with a cursor, shows one, 404 beyond', async () => {
    const p1 = (await get('/v1/batches?limit=1', k.acme)).json();
    expect(p1.items.map((b: { id: number }) => b.id)).to.deep.equal([1]);
    expect(p1.items[0].anchor).to.equal(null);
    const p2 = (await get(`/v1/batches?limit=1&cursor=${p1.nextCursor}`, k.acme)).json();
    expect(p2.items.map((b: { id: number }) => b.id)).to.deep.equal([0]);
    expect(p2).not.to.have.property('nextCursor');
    expect((await get('/v1/batches/0', k.beta)).json().root).to.match(/^0x[0-9a-f]{64}$/);
    expect((await get('/v1/batches/9', k.acme)).statusCode).to.equal(404);
    expect((await get('/v1/batches?cursor=WyJiYXRjaGVzIiwwXQ', k.acme)).json().code).to.equal('INVALID_CURSOR');
  });

  it('exports a batch for cross-tenant auditors', async () => {
    const res = await get('/v1/batches/0/events', k.global);
    expect(res.statusCode).to.equal(200);
    expect(res.json().events.length).to.equal(res.json().batch.size);
  });

  it('409 PROOF_PENDING with Retry-After until anchored; then the proof file of the anchored batch', async () => {
    const pending = await get(`/v1/events/${eventId}/proof`, k.acme);
    expect(pending.statusCode).to.equal(409);
    expect(pending.json().code).to.equal('PROOF_PENDING');
    expect(pending.headers['retry-after']).to.equal('3');
    const b0 = (await get('/v1/batches/0', k.acme)).json();
    await h.store.append(ANCHOR_STREAM, [
      createEvent({
        type: 'BatchAnchored',
        stream: ANCHOR_STREAM,
        tenant: AUDIT_TENANT,
        actor: ANCHORER_ACTOR,
        data: { batchId: 0, firstSeq: b0.firstSeq, lastSeq: b0.lastSeq, root: b0.root, chainId: 31337, contract: '0x5fbdb2315678afecb367f032d93f642f64180aa3', txHash: `0x${'c'.repeat(64)}`, blockNumber: 5, gasUsed: 90000 },
      }),
    ]);
    anchored = true;
    const ok = await get(`/v1/events/${eventId}/proof`, k.acme);
    expect(ok.statusCode, ok.body).to.equal(200);
    const proof = ok.json();
    expect(proof.format).to.equal('openmcp-proof/1');
    expect(proof.event.id).to.equal(eventId);
    expect(proof.batch.root).to.equal(b0.root);
    // Every field of the file is in /docs (and so in the SDK's ProofFile type): `anchor` was not.
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const declared = responseSchema(doc, 'get', '/v1/events/{id}/proof');
    expect(undeclared(proof, declared)).to.deep.equal([]);
    expect(Object.keys(declared.properties!)).to.include.members(['anchor']);
    expect(Object.keys((declared.properties!.batch as { properties?: object }).properties ?? {})).to.include.members(['id', 'root', 'signer', 'signature']);
    expect((await get(`/v1/events/${eventId}/proof`, k.beta)).statusCode).to.equal(404);
    expect((await get(`/v1/events/${eventId}/proof`, k.global)).statusCode).to.equal(200);
  });

  it('/docs declares every field a batch is sent with (size, positions, the anchor\'s gas and time), so the SDK\'s types and generated clients have them', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const schemaOf = (path: string) => doc.paths[path].get.responses['200'].content['application/json'].schema;
    const sent = {
      list: (await get('/v1/batches', k.acme)).json().items[1],
      one: (await get('/v1/batches/0', k.acme)).json(),
      export: (await get('/v1/batches/0/events', k.global)).json().batch,
    };
    expect(sent.one.anchor, 'batch 0 is anchored (test above)').to.be.an('object');
    const declared = {
      list: schemaOf('/v1/batches').properties.items.items,
      one: schemaOf('/v1/batches/{id}'),
      export: schemaOf('/v1/batches/{id}/events').properties.batch,
    };
    for (const [route, batch] of Object.entries(sent)) {
      const schema = declared[route as keyof typeof declared];
      expect(undeclared(batch, schema), route).to.deep.equal([]);
      expect(Object.keys(batch), route).to.include.members(['size', 'firstPosition', 'lastPosition']);
      expect(Object.keys(batch.anchor), route).to.include.members(['gasUsed', 'anchoredAt']);
    }
  });

  // An event is listed with `seq` and, once sealed, `batchId`: no page said what they were (the audit
  // sequence number a proof's leaf is built from, and the batch to export), or when they come.
  it('/docs says what an event\'s seq and batchId are, on the log, one event and a task\'s trail', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const schemaOf = (path: string) => doc.paths[path].get.responses['200'].content['application/json'].schema;
    for (const event of [schemaOf('/v1/events').properties.items.items, schemaOf('/v1/events/{id}'), schemaOf('/v1/tasks/{id}/events').properties.items.items]) {
      expect(event.properties.seq.description).to.match(/^Audit sequence number .*docs\/proofs\.md.*: on the SQL event store the event's global position, sent sealed or not; absent on KurrentDB$/);
      expect(event.properties.batchId.description).to.match(/^The sealed batch holding the event .*; absent until it is sealed, and on KurrentDB$/);
    }
  });

  // What /docs and docs/proofs.md say of them is what the API sends: on the SQL event store seq is the event's
  // global position (docs/proofs.md §2), there from the start; batchId comes once a batch covers it.
  it('an event not sealed yet is listed with its seq and no batchId; a sealed one with both, as /docs says', async () => {
    const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: { instruction: 'not sealed' } });
    const [fresh] = await h.store.readStream(`task-${res.json().id}`);
    const sealed = (await get(`/v1/events/${eventId}`, k.acme)).json();
    expect(sealed.batchId).to.equal(0);
    expect(sealed.seq).to.be.a('number');
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const described = doc.paths['/v1/events/{id}'].get.responses['200'].content['application/json'].schema.properties;
    for (const [view, route] of [
      [(await get(`/v1/events/${fresh.id}`, k.acme)).json(), 'one event'],
      [(await get(`/v1/tasks/${res.json().id}/events`, k.acme)).json().items[0], "a task's trail"],
      [(await get('/v1/events?limit=200', k.acme)).json().items.find((e: { id: string }) => e.id === fresh.id), 'the log'],
    ]) {
      expect(view, route).to.not.have.property('batchId');
      expect(view.seq, `${route}: seq is the global position, sealed or not`).to.equal(fresh.position);
    }
    expect(described.seq.description, 'the seq of an event not sealed yet is sent').to.not.match(/absent until/);
  });
});
