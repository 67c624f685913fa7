import { expect } from 'chai';
import { connect } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { crc32c } from './crc32c';
import { ERR_OUT_OF_ORDER_SEQUENCE, PartitionLog } from './partition-log';
import { startKafkaBroker, type KafkaBroker } from '.';

/** A minimal record batch v2 header from an idempotent producer (the log does not read the records). */
function idempotentBatch(producerId: number, baseSequence: number, records: number): Buffer {
  const b = Buffer.alloc(61 + 8);
  b.writeInt32BE(b.length - 12, 8);
  b.writeInt8(2, 16);
  b.writeInt32BE(records - 1, 23);
  b.writeBigInt64BE(BigInt(producerId), 43);
  b.writeInt16BE(0, 51);
  b.writeInt32BE(baseSequence, 53);
  b.writeInt32BE(records, 57);
  return b;
}

describe('Kafka test broker', function () {
  this.timeout(30_000);

  it('checksums with CRC-32C (Castagnoli)', () => {
    expect(crc32c(Buffer.from('123456789'))).to.equal(0xe3069283);
  });

  it('dedupes a retried idempotent batch and rejects a sequence gap with error 45', () => {
    const log = new PartitionLog();
    expect(log.append(idempotentBatch(7, 0, 3))).to.deep.include({ error: 0, baseOffset: 0 });
    expect(log.append(idempotentBatch(7, 3, 2))).to.deep.include({ error: 0, baseOffset: 3 });
    expect(log.append(idempotentBatch(7, 0, 3))).to.deep.equal({ error: 0, baseOffset: 0, duplicate: true });
    expect(log.append(idempotentBatch(7, 9, 1))).to.deep.equal({ error: ERR_OUT_OF_ORDER_SEQUENCE, baseOffset: -1 });
    expect(log.append(idempotentBatch(8, 0, 1))).to.deep.include({ error: 0, baseOffset: 5 });
    expect(log.highWatermark).to.equal(6);
  });

  describe('over TCP', () => {
    let broker: KafkaBroker;
    let kafka: Kafka;
    before(async () => {
      broker = await startKafkaBroker();
      kafka = new Kafka({ brokers: broker.brokers, clientId: 'broker-test', logLevel: logLevel.NOTHING });
    });
    after(async () => broker?.stop());

    it('answers ApiVersions v3 with UNSUPPORTED_VERSION in the v0 layout, listing its ranges', async () => {
      const req = Buffer.alloc(4 + 10);
      req.writeInt32BE(10, 0);
      req.writeInt16BE(18, 4);
      req.writeInt16BE(3, 6);
      req.writeInt32BE(42, 8);
      req.writeInt16BE(-1, 12);
      const res = await new Promise<Buffer>((resolve, reject) => {
        const s = connect(broker.port, '127.0.0.1', () => s.write(req));
        let got = Buffer.alloc(0);
        s.on('data', (d) => {
          got = Buffer.concat([got, d]);
          if (got.length >= 4 && got.length >= 4 + got.readInt32BE(0)) {
            s.destroy();
            resolve(got);
          }
        });
        s.on('error', reject);
      });
      expect(res.readInt32BE(4)).to.equal(42);
      expect(res.readInt16BE(8)).to.equal(35);
      const n = res.readInt32BE(10);
      const keys = Array.from({ length: n }, (_, i) => res.readInt16BE(14 + i * 6));
      expect(keys).to.include.members([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 18, 19, 22]);
    });

    it('creates topics, keeps keys, headers and timestamps, and serves offsets to groups', async () => {
      const admin = kafka.admin();
      await admin.connect();
      expect(await admin.createTopics({ topics: [{ topic: 'b1', numPartitions: 4 }] })).to.equal(true);
      expect(await admin.createTopics({ topics: [{ topic: 'b1', numPartitions: 4 }] })).to.equal(false);
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      const sent = Array.from({ length: 400 }, (_, i) => ({ key: `k${i % 37}`, value: `v${i}`, headers: { n: String(i) }, timestamp: String(1_700_000_000_000 + i) }));
      for (let i = 0; i < sent.length; i += 100) await producer.send({ topic: 'b1', acks: -1, messages: sent.slice(i, i + 100) });
      await producer.disconnect();
      expect(broker.highWatermarks('b1').reduce((a, b) => a + b)).to.equal(400);

      const read = async (group: string, until: number) => {
        const got: { key: string; value: string; n: string; ts: string; partition: number }[] = [];
        const consumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 100 });
        await consumer.connect();
        await consumer.subscribe({ topic: 'b1', fromBeginning: true });
        await consumer.run({
          eachMessage: async ({ message, partition }) => {
            got.push({ key: message.key!.toString(), value: message.value!.toString(), n: message.headers!.n!.toString(), ts: message.timestamp, partition });
          },
        });
        const deadline = Date.now() + 15_000;
        while (got.length < until && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 200));
        await consumer.disconnect();
        return got;
      };
      const first = await read('g1', 400);
      expect(first).to.have.length(400);
      for (const m of first) {
        const i = Number(m.n);
        expect(m).to.deep.include({ key: sent[i].key, value: sent[i].value, ts: sent[i].timestamp });
      }
      const byKey = new Map<string, number[]>();
      for (const m of first) byKey.set(m.key, [...(byKey.get(m.key) ?? []), Number(m.n)]);
      for (const ns of byKey.values()) expect(ns).to.deep.equal([...ns].sort((a, b) => a - b));

      const offsets = await admin.fetchOffsets({ groupId: 'g1', topics: ['b1'] });
      expect(offsets[0].partitions.map((p) => Number(p.offset)).sort()).to.deep.equal(broker.highWatermarks('b1').sort());
      expect(await read('g1', 0)).to.have.length(0);
      const earliest = await admin.fetchTopicOffsetsByTimestamp('b1', 1_700_000_000_000 + 399);
      expect(earliest.length).to.equal(4);
      await admin.disconnect();
    });

    it('splits partitions between two members of one group', async () => {
      const admin = kafka.admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'b2', numPartitions: 4 }] });
      await admin.disconnect();
      const assigned: number[][] = [[], []];
      const consumers = [0, 1].map(() => kafka.consumer({ groupId: 'pair', maxWaitTimeInMs: 100, heartbeatInterval: 100 }));
      await Promise.all(
        consumers.map(async (c, i) => {
          c.on(c.events.GROUP_JOIN, (e) => (assigned[i] = e.payload.memberAssignment.b2 ?? []));
          await c.connect();
          await c.subscribe({ topic: 'b2', fromBeginning: true });
          await c.run({ eachMessage: async () => undefined });
        }),
      );
      const deadline = Date.now() + 15_000;
      while (assigned[0].length + assigned[1].length !== 4 || !assigned[0].length || !assigned[1].length) {
        if (Date.now() > deadline) throw new Error(`no balanced assignment: ${JSON.stringify(assigned)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect([...assigned[0], ...assigned[1]].sort()).to.deep.equal([0, 1, 2, 3]);
      await Promise.all(consumers.map((c) => c.disconnect()));
    });
  });
});
