/**
 * The topic as a downstream team takes it: the product (`openmcp start`, every role, in-process)
 * runs with KAFKA_BROKERS pointing at the test broker, REST requests make real events, the relay
 * publishes them, and a kafkajs consumer group written only from docs/consumers.md reads them.
 * Each promise of that page is checked on what arrives: key, headers, the envelope of DESIGN.md,
 * the partition (murmur2 as the Java client computes it), order per stream, dedupe of a replay,
 * an event of a newer release, and an event near the 4 MiB limit read with kafkajs' defaults.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Kafka, logLevel, type Consumer, type IHeaders } from 'kafkajs';
import { catalog } from '../../events';
import { loadConfig } from '../../src/config';
import { computeEventHash, createEvent, MAX_EVENT_BYTES, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { Registry } from 'prom-client';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { Relay, relayCheckpointName } from '../../src/relay';
import { freePort } from '../support/free-port';
import { startKafkaBroker, type KafkaBroker } from '../support/kafka-broker';
import { appendEvents, eventually, openTestLog } from './event-log-fixture';

const TOPIC = 'openmcp.events.v1';
const ADMIN_KEY = 'omc_downstream_admin_0123456789abcdef';
/** The envelope's fields (DESIGN.md "Event envelope"); correlationId and causationId only when set. */
const ENVELOPE_FIELDS = ['id', 'type', 'version', 'stream', 'revision', 'position', 'occurredAt', 'tenant', 'actor', 'data', 'hash'];
const CONTRACT_HEADERS = ['event-id', 'event-type', 'event-version', 'event-hash', 'tenant', 'content-type'];

/** Kafka's Utils.murmur2, as the Java client's default partitioner uses it (written from the Java source, not kafkajs). */
function javaMurmur2(data: Buffer): number {
  const m = 0x5bd1e995;
  let h = (0x9747b28c ^ data.length) | 0;
  const length4 = data.length >> 2;
  for (let i = 0; i < length4; i++) {
    const i4 = i * 4;
    let k = data[i4] | (data[i4 + 1] << 8) | (data[i4 + 2] << 16) | (data[i4 + 3] << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const tail = data.length & ~3;
  switch (data.length % 4) {
    case 3:
      h ^= data[tail + 2] << 16;
    // falls through
    case 2:
      h ^= data[tail + 1] << 8;
    // falls through
    case 1:
      h ^= data[tail];
      h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}
const javaPartition = (key: string, partitions: number) => (javaMurmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;

type Delivery = { partition: number; offset: number; key: string; headers: Record<string, string>; value: Buffer };

/**
 * A consumer as docs/consumers.md tells one to write it: a group that never has the broker
 * auto-create the topic, reads from the earliest offset, keeps the first delivery of each event
 * (by event-id, and by stream + revision), and skips what a newer release wrote.
 */
class DocsConsumer {
  readonly deliveries: Delivery[] = [];
  readonly applied: RecordedEvent[] = [];
  readonly newer: RecordedEvent[] = [];
  private readonly ids = new Set<string>();
  private readonly lastRevision = new Map<string, number>();
  /** Repeats dropped by the event-id rule, and by the stream + revision rule (they must agree). */
  repeatsById = 0;
  repeatsByRevision = 0;
  private consumer?: Consumer;

  constructor(private readonly brokers: string[], private readonly groupId: string) {}

  async start(): Promise<void> {
    const kafka = new Kafka({ brokers: this.brokers, clientId: 'downstream', logLevel: logLevel.NOTHING });
    this.consumer = kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 100 });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, headerText(v)]));
        this.deliveries.push({ partition, offset: Number(message.offset), key: message.key!.toString('utf8'), headers, value: message.value! });
        const event = JSON.parse(message.value!.toString('utf8')) as RecordedEvent;
        const byId = this.ids.has(event.id);
        const byRevision = event.revision <= (this.lastRevision.get(event.stream) ?? -1);
        if (byId) this.repeatsById++;
        if (byRevision) this.repeatsByRevision++;
        if (byId || byRevision) return;
        this.ids.add(event.id);
        this.lastRevision.set(event.stream, event.revision);
        if (catalog.isFromNewerRelease(event)) this.newer.push(event);
        else this.applied.push(event);
      },
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

const headerText = (v: IHeaders[string]) => (Array.isArray(v) ? v.map(String).join(',') : Buffer.isBuffer(v) ? v.toString('utf8') : String(v));

describe('A downstream consumer group reading what the product publishes (docs/consumers.md)', function () {
  this.timeout(180_000);
  let broker: KafkaBroker;
  let dir: string;
  let app: OpenMcp;
  const consumers: DocsConsumer[] = [];
  const published = () => broker.highWatermarks(TOPIC).reduce((a, b) => a + b, 0);
  const rest = async (method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) => {
    const r = await app.app.inject({ method, url, payload, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'x-request-id': `req-${newId()}` } });
    expect(r.statusCode, `${method} ${url}: ${r.body}`).to.be.lessThan(300);
    return r.body ? (r.json() as { id: string }) : undefined;
  };
  /** Every event in the log is on the topic, at least once. */
  const allPublished = async () => {
    const head = await app.store.headPosition();
    await eventually(async () => ((await app.knex('checkpoints').where({ name: relayCheckpointName(TOPIC) }).first('position'))?.position ?? -1) >= head, `the relay to publish up to ${head}`, 60_000);
    return head;
  };
  const consumer = async (group: string) => {
    const c = new DocsConsumer(broker.brokers, group);
    consumers.push(c);
    await c.start();
    return c;
  };

  before(async () => {
    broker = await startKafkaBroker();
    dir = mkdtempSync(join(tmpdir(), 'omc-downstream-'));
    const config = loadConfig({
      DATA_DIR: join(dir, 'data'),
      LOG_LEVEL: 'silent',
      KAFKA_BROKERS: broker.brokers.join(','),
      OPENMCP_ADMIN_KEY: ADMIN_KEY,
      BATCH_MAX_SECONDS: '1',
      // Not the default 8545: under `npm test` (mocha --parallel) another file's chain may hold it.
      CHAIN_PORT: String(await freePort()),
    });
    app = await startOpenMcp(config, { listen: false, print: () => {} });
    // Real events of several kinds: a task that calls the bundled echo tool, an API key made and
    // revoked, a task refused a tool it does not know.
    await rest('POST', '/v1/tasks', { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] });
    const key = await rest('POST', '/v1/keys', { role: 'agent', tenant: 'acme', name: 'downstream', agents: ['a1'] });
    await rest('DELETE', `/v1/keys/${key!.id}`);
    await rest('POST', '/v1/tasks', { steps: [{ tool: 'nowhere__tool', arguments: {} }] });
    const types = async () => (await app.store.readAll({ after: -1, limit: 1000 })).map((e) => e.type);
    await eventually(async () => (await types()).filter((t) => t === 'TaskCompleted' || t === 'TaskFailed').length === 2, 'both tasks to finish', 60_000);
    await eventually(async () => (await types()).includes('BatchAnchored'), 'a batch sealed and anchored', 60_000);
  });
  after(async () => {
    await Promise.all(consumers.map((c) => c.stop().catch(() => undefined)));
    await app?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets every event with key = stream, exactly the documented headers, the DESIGN.md envelope as value, in the partition the Java client would pick, in order per stream', async () => {
    const head = await allPublished();
    const log = await app.store.readAll({ after: -1, limit: 10_000 });
    expect(log).to.have.length(head + 1);
    const c = await consumer('downstream-contract');
    await eventually(() => c.applied.length >= log.length, `${log.length} events (got ${c.applied.length})`);

    // The helper agrees with Kafka's own test vectors (UtilsTest.testMurmur2).
    expect([javaMurmur2(Buffer.from('21')), javaMurmur2(Buffer.from('foobar')), javaMurmur2(Buffer.from('a-little-bit-long-string'))]).to.deep.equal([-973932308, -790332482, -985981536]);
    const partitions = broker.highWatermarks(TOPIC).length;
    expect(partitions, 'the contract partition count').to.equal(6);
    // Read again: the sealer may have appended a batch since, and the consumer may have it already.
    const byId = new Map((await app.store.readAll({ after: -1, limit: 10_000 })).map((e) => [e.id, e]));
    const tenants = new Set<string>();
    for (const d of c.deliveries) {
      const event = JSON.parse(d.value.toString('utf8')) as Record<string, unknown>;
      const stored = byId.get(String(event.id))!;
      expect(stored, `event ${String(event.id)} is in the log`).to.not.equal(undefined);
      // Value: the envelope, exactly its fields, nothing null-filled, the hash recomputable.
      const optional = ['correlationId', 'causationId'].filter((k) => k in event);
      expect(Object.keys(event).sort()).to.deep.equal([...ENVELOPE_FIELDS, ...optional].sort());
      for (const k of optional) expect(event[k], k).to.be.a('string');
      expect(event).to.deep.equal(JSON.parse(JSON.stringify(stored)));
      expect(computeEventHash(event as unknown as RecordedEvent)).to.equal(event.hash);
      // Key and partition.
      expect(d.key).to.equal(stored.stream);
      expect(d.partition, `partition of ${d.key}`).to.equal(javaPartition(d.key, partitions));
      // Headers: the contract's, correlation-id when the event has one, nothing else (tracing is off).
      const expected: Record<string, string> = {
        'event-id': stored.id,
        'event-type': stored.type,
        'event-version': String(stored.version),
        'event-hash': stored.hash,
        tenant: stored.tenant,
        'content-type': 'application/json',
        ...(stored.correlationId !== undefined ? { 'correlation-id': stored.correlationId } : {}),
      };
      expect(d.headers, `headers of ${stored.type}`).to.deep.equal(expected);
      expect(Object.keys(d.headers)).to.include.members(CONTRACT_HEADERS);
      tenants.add(d.headers.tenant);
    }
    // The two tenants that are no customer's appear as documented: shared server events, audit events.
    expect([...tenants]).to.include.members(['*', 'system', 'default', 'acme']);
    // In order per stream: each stream's revisions arrive 0, 1, 2, …
    const revisions = new Map<string, number[]>();
    for (const e of c.applied) revisions.set(e.stream, [...(revisions.get(e.stream) ?? []), e.revision]);
    for (const [stream, rs] of revisions) expect(rs, stream).to.deep.equal(rs.map((_, i) => i));
    expect(c.repeatsById).to.equal(0);
    expect(c.newer).to.deep.equal([]);
  });

  it('sees a replay (the relay checkpoint deleted while it runs) as repeats only: both documented dedupe keys drop every one of them, and a new group reads the whole log from the start', async () => {
    const head = await allPublished();
    const c = await consumer('downstream-replay');
    await eventually(() => c.applied.length >= head + 1, 'the log once');
    const before = published();
    await app.knex('checkpoints').where({ name: relayCheckpointName(TOPIC) }).del();
    // A running relay looks at its checkpoint every 5 s while idle, and publishes the log again.
    await eventually(() => published() >= before + head + 1, 'the log to be republished', 60_000);
    await eventually(() => c.deliveries.length >= published(), 'the consumer to read the repeats');
    const log = await app.store.readAll({ after: -1, limit: 10_000 });
    await eventually(() => c.applied.length >= log.length, 'every event of the log, however it grew meanwhile (batches)');
    const applied = c.applied.map((e) => e.id);
    expect(applied).to.include.members(log.map((e) => e.id));
    expect(new Set(applied).size, 'each event applied once').to.equal(applied.length);
    expect(c.repeatsById).to.equal(c.deliveries.length - c.applied.length - c.newer.length);
    expect(c.repeatsByRevision, 'stream + revision drops the same repeats as event-id').to.equal(c.repeatsById);
    // The same event republished is the same bytes: the value does not depend on the publish.
    const first = new Map<string, Buffer>();
    for (const d of c.deliveries) {
      const seen = first.get(d.headers['event-id']);
      if (seen) expect(d.value.equals(seen), `republished ${d.headers['event-id']}`).to.equal(true);
      else first.set(d.headers['event-id'], d.value);
    }

    const fresh = await consumer('downstream-from-start');
    await eventually(() => fresh.deliveries.length >= published(), 'a new group to read the whole topic');
    expect(fresh.applied.map((e) => e.id)).to.include.members(log.map((e) => e.id));
    expect(new Set(fresh.applied.map((e) => e.id)).size).to.equal(fresh.applied.length);
  });

  it('carries an event of a newer release as it was written, for the consumer to skip (catalog.isFromNewerRelease), and an event near the 4 MiB limit whole to a consumer with kafkajs default fetch sizes', async () => {
    const c = await consumer('downstream-newer');
    const stream = `escalation-${newId()}`;
    const newer = createEvent({ type: 'TaskEscalated', version: 1, stream, tenant: 'acme', actor: { kind: 'system', id: 'later-release' }, data: { level: 2 } });
    // Just under the store's limit once canonical: the value on the topic is larger by the envelope's extra fields.
    const big = createEvent({ type: 'TaskEscalated', version: 2, stream, tenant: 'acme', actor: { kind: 'system', id: 'later-release' }, data: { note: 'x'.repeat(MAX_EVENT_BYTES - 400) } });
    await app.store.append(stream, [newer]);
    await app.store.append(stream, [big]);
    await allPublished();
    await eventually(() => c.newer.length >= 2, 'both events of the newer release');
    expect(c.newer.map((e) => [e.type, e.version, e.revision])).to.deep.equal([
      ['TaskEscalated', 1, 0],
      ['TaskEscalated', 2, 1],
    ]);
    expect(c.newer[1].hash).to.equal(big.hash);
    expect(computeEventHash(c.newer[1])).to.equal(big.hash);
    const delivered = c.deliveries.find((d) => d.headers['event-id'] === big.id)!;
    expect(delivered.value.length).to.be.greaterThan(MAX_EVENT_BYTES - 400);
  });

  it('sees no repeat from a relay stopped cleanly mid-backlog and started again: it publishes and checkpoints the batch in flight before it stops', async () => {
    const log = await openTestLog();
    const topic = 'clean-stop.events.v1';
    const onTopic = () => broker.highWatermarks(topic).reduce((a, b) => a + b, 0);
    try {
      const stored = await appendEvents(log.store, 20, 50);
      for (let round = 0; onTopic() < stored.length; round++) {
        // Small batches and requests: every stop lands in the middle of a batch being published.
        const relay = new Relay(log.store, log.checkpoints, { brokers: broker.brokers, topic, registry: new Registry(), maxBatch: 40, maxRequestBytes: 4096 });
        await relay.start();
        const target = Math.min(stored.length, onTopic() + 150 + round);
        await eventually(() => onTopic() >= target, `${target} events on the topic`);
        await relay.stop();
        expect(await log.checkpoints.load(relay.checkpointName), `checkpoint after stop ${round}`).to.equal(stored[onTopic() - 1].position);
      }
      expect(onTopic(), 'messages on the topic').to.equal(stored.length);
    } finally {
      await log.close();
    }
  });
});
