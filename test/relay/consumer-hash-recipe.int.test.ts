/**
 * docs/consumers.md, "Event hash": a consumer outside this repository checks an event from the
 * Kafka message alone, with any RFC 8785 library and SHA-256 over the content fields of the value
 * (never over the bytes received). Here the reference vectors (shared/vectors/event-hash.json,
 * computed by code independent of the project) go through the event store, the relay and the test
 * broker, and a kafkajs consumer that imports nothing of the project's hashing (`canonicalize` and
 * node:crypto only) recomputes each one from what it received.
 */
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import canonicalize from 'canonicalize';
import { Registry } from 'prom-client';
import type { PendingEvent } from '../../src/core/envelope';
import { Relay } from '../../src/relay';
import vectors from '../vectors/event-hash.json';
import { brokerAndLogPerSuite, openTestLog, readTopic } from './event-log-fixture';

/** The recipe of docs/consumers.md, written from the page: the content fields, absent ones omitted. */
const CONTENT_FIELDS = ['id', 'type', 'version', 'stream', 'occurredAt', 'tenant', 'actor', 'correlationId', 'causationId', 'data'];
function canonicalContent(value: string): string {
  const event = JSON.parse(value) as Record<string, unknown>;
  return canonicalize(Object.fromEntries(CONTENT_FIELDS.filter((k) => event[k] !== undefined).map((k) => [k, event[k]])))!;
}
const sha256 = (text: string) => `0x${createHash('sha256').update(text, 'utf8').digest('hex')}`;

describe('A consumer recomputing event hashes from the Kafka message alone (docs/consumers.md, "Event hash")', function () {
  this.timeout(60_000);
  const env = brokerAndLogPerSuite();

  it('reproduces every reference vector, canonical text and hash, from the value the relay published; the event-hash header agrees', async () => {
    const topic = 'vectors.events.v1';
    const cases = vectors.cases as { event: Omit<PendingEvent, 'hash'>; canonical: string; hash: string }[];
    // One stream, appended in the vectors' order.
    await env.log.store.append(
      cases[0].event.stream,
      cases.map((c) => ({ ...c.event, hash: c.hash }) as PendingEvent),
    );
    const relay = new Relay(env.log.store, env.log.checkpoints, { brokers: env.broker.brokers, topic, registry: new Registry() });
    await relay.start();
    await relay.waitFor();
    await relay.stop();

    const received = await readTopic(env.broker.brokers, topic, cases.length);
    expect(received).to.have.length(cases.length);
    for (const [i, c] of cases.entries()) {
      const m = received[i];
      expect(m.headers['event-id'], `case ${i}`).to.equal(c.event.id);
      expect(canonicalContent(m.value), `canonical text of case ${i}`).to.equal(c.canonical);
      expect(sha256(canonicalContent(m.value)), `hash of case ${i}`).to.equal(c.hash);
      expect(m.headers['event-hash'], `event-hash header of case ${i}`).to.equal(c.hash);
      expect(JSON.parse(m.value).hash, `hash field of case ${i}`).to.equal(c.hash);
    }
  });

  it('checks an event of an earlier release that holds a lone surrogate: its hash is over the JCS text with the six-character escape \\ud800, as the page says', async () => {
    const topic = 'surrogate.events.v1';
    const stream = 'task-01937a6e-7f00-7000-8000-0000000000bb';
    const content = {
      id: '01937a6e-7f00-7000-8000-0000000000b1',
      type: 'ToolCallCompleted',
      version: 1,
      stream,
      occurredAt: '2026-11-22T10:00:00.000Z',
      tenant: 'acme',
      actor: { kind: 'system', id: 'gateway' },
      data: { text: 'half \ud800 a pair' },
    } as const;
    // Written out by hand from RFC 8785 and the page's rule for the surrogate, not by a canonicalizer.
    const canonical =
      '{"actor":{"id":"gateway","kind":"system"},"data":{"text":"half \\ud800 a pair"},"id":"01937a6e-7f00-7000-8000-0000000000b1",' +
      `"occurredAt":"2026-11-22T10:00:00.000Z","stream":"${stream}","tenant":"acme","type":"ToolCallCompleted","version":1}`;
    const hash = sha256(canonical);
    // A log of its own: the suite's holds the vectors.
    const log = await openTestLog();
    try {
      await log.store.append(stream, [{ ...content, hash } as PendingEvent]);
      const relay = new Relay(log.store, log.checkpoints, { brokers: env.broker.brokers, topic, registry: new Registry() });
      await relay.start();
      await relay.waitFor();
      await relay.stop();
    } finally {
      await log.close();
    }

    const [m] = await readTopic(env.broker.brokers, topic, 1);
    expect(m.headers['event-id']).to.equal(content.id);
    expect(m.value, 'the value carries the surrogate as its escape').to.contain('half \\ud800 a pair');
    expect(canonicalContent(m.value)).to.equal(canonical);
    expect(sha256(canonicalContent(m.value))).to.equal(hash);
    expect(m.headers['event-hash']).to.equal(hash);
  });
});
