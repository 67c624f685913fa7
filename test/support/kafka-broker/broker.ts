import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { EventEmitter } from 'node:events';
import { Reader, Writer } from './codec';
import { GroupCoordinator } from './group-coordinator';
import { PartitionLog } from './partition-log';
import { batchCrcValid, readBatchHeader, splitBatches } from './record-batch';
import { API, handleRequest, type ApiContext } from './apis';
import { saslExchange, type SaslExchange, type SaslServerOptions } from './sasl';

export type KafkaBrokerOptions = {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Partitions of an auto-created topic (default 3). */
  defaultPartitions?: number;
  /** Hold of an empty group's first rebalance (default 30 ms; Kafka's is 3 s). */
  initialRebalanceDelayMs?: number;
  /**
   * Largest record batch a partition accepts, as Kafka's `message.max.bytes` (default 1048588,
   * Kafka's own); a topic created with the config `max.message.bytes` uses that instead. A larger
   * batch is refused with MESSAGE_TOO_LARGE (10), as Kafka does.
   */
  maxMessageBytes?: number;
  /**
   * Largest request frame, as Kafka's `socket.request.max.bytes` (default 100 MiB, Kafka's own):
   * a larger one makes the broker close the connection, as Kafka does.
   */
  maxRequestBytes?: number;
  /**
   * The session timeouts a consumer group member may ask for, as Kafka's
   * `group.min.session.timeout.ms` and `group.max.session.timeout.ms` (default: any, so that tests
   * may use short ones; Kafka's are 6000 and 1800000): one outside is refused with
   * INVALID_SESSION_TIMEOUT (26), as Kafka does.
   */
  groupSessionTimeoutMs?: { min: number; max: number };
  /**
   * Serve TLS only (Kafka's SSL / SASL_SSL listener): `key` and `cert` of the broker, and for mutual
   * TLS `ca` with `requestCert: true` (a client without a certificate that CA signed is refused).
   * The test material is in test/fixtures/kafka-tls (kafkaTestTls).
   */
  tls?: Pick<TlsOptions, 'key' | 'cert' | 'ca' | 'requestCert'>;
  /**
   * Require SASL authentication (Kafka's SASL_PLAINTEXT / SASL_SSL listener): a connection may
   * send ApiVersions, SaslHandshake and SaslAuthenticate until it has authenticated; any other
   * request, or a failed authentication, closes it, as Kafka does. OAUTHBEARER takes the tokens
   * `verifyToken` takes (the test token endpoint's); another is answered with RFC 7628's JSON error
   * as a challenge, which kafkajs does not read: it sends its next request as if authenticated, and
   * the connection is closed on it (Kafka answers that request with an error first, then closes).
   */
  sasl?: SaslServerOptions;
};

/** An error the broker answers one produce request's partition with (see failProduce). */
export type ProduceFault = {
  topic: string;
  /** Every partition of the request when omitted. */
  partition?: number;
  /** Kafka error code, e.g. 6 NOT_LEADER_OR_FOLLOWER (retriable), 29 TOPIC_AUTHORIZATION_FAILED. */
  error: number;
  /** How many partition writes it refuses (default 1); Infinity for every one. */
  times?: number;
};

export type KafkaBroker = {
  brokers: string[];
  port: number;
  /** Create a topic directly (tests); no-op when it exists. */
  createTopic(name: string, partitions: number): void;
  /** Each partition's high watermark (none: the topic does not exist). */
  highWatermarks(topic: string): number[];
  /** Metadata requests that named `topic` so far (a client looking for it, or having it auto-created). */
  metadataRequests(topic: string): number;
  /** Requests received so far with this API key (e.g. 11 JoinGroup, 13 LeaveGroup: rebalances), on every connection. */
  requests(apiKey: number): number;
  /** The session timeout each member of a consumer group asked for when it joined. */
  sessionTimeouts(groupId: string): number[];
  /** Drop every open client connection (simulates a network cut). */
  dropConnections(): void;
  /**
   * Answer produce requests for `fault.topic` with `fault.error` on the named partition (nothing of
   * it is written) while the other partitions of the same request are written: a batch some of whose
   * messages Kafka acknowledged and some not.
   */
  failProduce(fault: ProduceFault): void;
  /** Grow a topic to `count` partitions, as `kafka-topics --alter --partitions` does. */
  addPartitions(topic: string, count: number): void;
  /** The configs a CreateTopics request gave the topic (`max.message.bytes`, `cleanup.policy`…); undefined for one created otherwise. */
  topicConfigs(topic: string): Record<string, string | null> | undefined;
  /** Set a topic's `max.message.bytes`, as `kafka-configs --alter` does. */
  setMaxMessageBytes(topic: string, bytes: number): void;
  /** Refuse CreateTopics for `topic` with `error` (e.g. 29 TOPIC_AUTHORIZATION_FAILED); 0 lifts it. */
  refuseTopic(topic: string, error: number): void;
  /**
   * Answer every request of consumer group `groupId` with `error` (e.g. 30
   * GROUP_AUTHORIZATION_FAILED, as Kafka once the group's ACL is removed, which kafkajs does not
   * retry: its consumer stops); 0 lifts it.
   */
  refuseGroup(groupId: string, error: number): void;
  /**
   * Answer the next `count` CreateTopics requests only once all of them have arrived, in the order
   * they came: as when that many processes found a topic missing at the same moment and each asked
   * to create it (the first creates it, the others get 36 TOPIC_ALREADY_EXISTS).
   */
  holdCreateTopics(count: number): void;
  /**
   * Give a topic that CreateTopics creates from now on its partitions' leaders only `ms` after:
   * until then Metadata answers them with 5 LEADER_NOT_AVAILABLE and leader -1, as Kafka does while
   * it elects a new topic's leaders (its CreateTopics answer does not wait for them).
   */
  electLeadersAfter(ms: number): void;
  stop(): Promise<void>;
};

/** One connection's SASL progress. */
type SaslState = { authenticated: boolean; exchange?: SaslExchange };

const NODE_ID = 0;
const MAX_FRAME = 100 * 1024 * 1024;

/**
 * An in-memory, single-node Kafka broker speaking the wire protocol, for driving the real kafkajs
 * client (and librdkafka's kcat) in tests. Requests on one connection are answered in order, like
 * Kafka, so a long-polling Fetch delays what follows it on that connection.
 */
export async function startKafkaBroker(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
  const host = options.host ?? '127.0.0.1';
  const topics = new Map<string, PartitionLog[]>();
  const topicMaxBytes = new Map<string, number>();
  const requestedConfigs = new Map<string, Record<string, string | null>>();
  const produceFaults: ProduceFault[] = [];
  const refused = new Map<string, number>();
  const metadataAsks = new Map<string, number>();
  const requestCounts = new Map<number, number>();
  /** Per topic created by CreateTopics while electLeadersAfter was set: when its leaders are elected. */
  const ledAt = new Map<string, number>();
  let electionMs = 0;
  let createHold: { left: number; open: Promise<void>; release: () => void } | undefined;
  const appended = new EventEmitter();
  appended.setMaxListeners(0);
  const groups = new GroupCoordinator(options.initialRebalanceDelayMs ?? 30, options.groupSessionTimeoutMs);
  let nextProducerId = 1000;
  const sockets = new Set<Socket>();

  const createTopic = (name: string, partitions: number, maxMessageBytes?: number): boolean => {
    if (topics.has(name)) return false;
    topics.set(name, Array.from({ length: partitions }, () => new PartitionLog()));
    if (maxMessageBytes !== undefined) topicMaxBytes.set(name, maxMessageBytes);
    return true;
  };
  const createTopicByRequest = (name: string, partitions: number, maxMessageBytes?: number, configs: Record<string, string | null> = {}): boolean => {
    const created = createTopic(name, partitions, maxMessageBytes);
    if (created) requestedConfigs.set(name, configs);
    if (created && electionMs > 0) ledAt.set(name, Date.now() + electionMs);
    return created;
  };
  /** The error to refuse this partition write with (0: none), counting the fault down. */
  const takeFault = (topic: string, partition: number): number => {
    const i = produceFaults.findIndex((x) => x.topic === topic && (x.partition === undefined || x.partition === partition));
    if (i < 0) return 0;
    const f = produceFaults[i];
    if (--f.times! <= 0) produceFaults.splice(i, 1);
    return f.error;
  };

  const tls = options.tls;
  const server: Server = tls
    ? createTlsServer({ ...tls, rejectUnauthorized: tls.requestCert === true }, (socket) => serve(socket)).on('tlsClientError', () => undefined)
    : createServer((socket) => serve(socket));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const ctx: ApiContext = {
    nodeId: NODE_ID,
    host,
    port,
    topics,
    groups,
    createTopic,
    createTopicByRequest,
    refuseTopic: (name) => refused.get(name) ?? 0,
    defaultPartitions: options.defaultPartitions ?? 3,
    newProducerId: () => nextProducerId++,
    metadataAsked: (name) => void metadataAsks.set(name, (metadataAsks.get(name) ?? 0) + 1),
    createTopicsTurn() {
      const hold = createHold;
      if (!hold) return Promise.resolve();
      if (--hold.left <= 0) {
        createHold = undefined;
        hold.release();
      }
      return hold.open;
    },
    leaderless: (name) => (ledAt.get(name) ?? 0) > Date.now(),
    append(topic, partition, records) {
      const log = topics.get(topic)?.[partition];
      if (!log) return { error: 3, baseOffset: -1 };
      const fault = takeFault(topic, partition);
      if (fault) return { error: fault, baseOffset: -1 };
      const maxBytes = topicMaxBytes.get(topic) ?? options.maxMessageBytes ?? 1048588;
      let first = -1;
      for (const batch of splitBatches(records)) {
        if (batch.length > maxBytes) return { error: 10, baseOffset: -1 };
        if (readBatchHeader(batch).magic !== 2) return { error: 2, baseOffset: -1 };
        if (!batchCrcValid(batch)) return { error: 2, baseOffset: -1 };
        const out = log.append(batch);
        if (out.error) return out;
        if (first < 0) first = out.baseOffset;
      }
      appended.emit('append');
      return { error: 0, baseOffset: first };
    },
    waitForAppend(ms) {
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(t);
          appended.off('append', done);
          resolve();
        };
        const t = setTimeout(done, ms);
        appended.on('append', done);
      });
    },
  };

  function serve(socket: Socket): void {
    // Without TCP_NODELAY every small response waits on Nagle + delayed ACK (about 45 ms here).
    socket.setNoDelay(true);
    sockets.add(socket);
    let pending = Buffer.alloc(0);
    let chain = Promise.resolve();
    const auth: SaslState = { authenticated: !options.sasl };
    socket.on('data', (chunk) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 4) {
        const size = pending.readInt32BE(0);
        if (size < 0 || size > (options.maxRequestBytes ?? MAX_FRAME)) return socket.destroy();
        if (pending.length < 4 + size) break;
        const frame = pending.subarray(4, 4 + size);
        pending = pending.subarray(4 + size);
        chain = chain.then(() => answer(socket, frame, auth));
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  }

  async function answer(socket: Socket, frame: Buffer, auth: SaslState): Promise<void> {
    if (socket.destroyed) return;
    const r = new Reader(frame);
    const apiKey = r.int16();
    requestCounts.set(apiKey, (requestCounts.get(apiKey) ?? 0) + 1);
    const apiVersion = r.int16();
    const correlationId = r.int32();
    const clientId = r.nullableString() ?? '';
    const w = new Writer().int32(correlationId);
    if (apiKey === 17 || apiKey === 36) {
      const close = saslRequest(auth, apiKey, apiVersion, r, w);
      if (!socket.destroyed) socket.write(w.frame());
      if (close) socket.end();
      return;
    }
    // Kafka closes a SASL listener's connection that sends anything else before it authenticated.
    if (!auth.authenticated && apiKey !== 18) {
      socket.destroy();
      return;
    }
    try {
      const body = await handleRequest(ctx, { apiKey, apiVersion, clientId, reader: r }, w);
      if (body === 'no-response') return;
    } catch (err) {
      // A request this broker cannot parse is a bug in the fixture: fail loudly, close the connection.
      console.error(`kafka test broker: ${API[apiKey] ?? apiKey} v${apiVersion}: ${(err as Error).stack}`);
      socket.destroy();
      return;
    }
    if (!socket.destroyed) socket.write(w.frame());
  }

  /** Answers SaslHandshake (17) or SaslAuthenticate (36) into `w`; true when the connection is to be closed after it (a failed authentication). */
  function saslRequest(auth: SaslState, apiKey: number, v: number, r: Reader, w: Writer): boolean {
    const enabled = options.sasl?.mechanisms ?? [];
    if (apiKey === 17) {
      const mechanism = r.string().toUpperCase();
      const offered = enabled.find((m) => m === mechanism);
      // 33 UNSUPPORTED_SASL_MECHANISM; 34 ILLEGAL_SASL_STATE after authentication, and on a listener
      // without SASL (Kafka answers a SaslHandshake there so, from its request handler).
      const error = !options.sasl || (auth.authenticated && auth.exchange) ? 34 : offered ? 0 : 33;
      if (offered && !error) auth.exchange = saslExchange(offered, options.sasl!.users, undefined, options.sasl);
      w.int16(error).array(enabled, (x, m) => x.string(m));
      return error !== 0;
    }
    const bytes = r.bytes();
    const step = auth.exchange && !auth.authenticated ? auth.exchange.step(bytes) : { reply: Buffer.alloc(0), error: 'SaslAuthenticate before SaslHandshake', done: true, state: true };
    const error = !step.error ? 0 : 'state' in step ? 34 : 58;
    w.int16(error).nullableString(step.error ?? null).nullableBytes(step.reply);
    if (v >= 1) w.int64(0);
    if (step.done && !step.error) auth.authenticated = true;
    return error !== 0;
  }

  return {
    brokers: [`${host}:${port}`],
    port,
    createTopic: (name, partitions) => void createTopic(name, partitions),
    highWatermarks: (topic) => (topics.get(topic) ?? []).map((p) => p.highWatermark),
    metadataRequests: (topic) => metadataAsks.get(topic) ?? 0,
    requests: (apiKey) => requestCounts.get(apiKey) ?? 0,
    sessionTimeouts: (groupId) => groups.sessionTimeouts(groupId),
    dropConnections: () => {
      for (const s of sockets) s.destroy();
    },
    failProduce: (fault) => void produceFaults.push({ ...fault, times: fault.times ?? 1 }),
    addPartitions: (topic, count) => {
      const logs = topics.get(topic);
      while (logs && logs.length < count) logs.push(new PartitionLog());
    },
    topicConfigs: (topic) => requestedConfigs.get(topic),
    setMaxMessageBytes: (topic, bytes) => void topicMaxBytes.set(topic, bytes),
    refuseTopic: (topic, error) => void (error ? refused.set(topic, error) : refused.delete(topic)),
    refuseGroup: (groupId, error) => groups.refuse(groupId, error),
    holdCreateTopics: (count) => {
      let release!: () => void;
      const open = new Promise<void>((resolve) => (release = resolve));
      createHold = { left: count, open, release };
    },
    electLeadersAfter: (ms) => void (electionMs = ms),
    stop: async () => {
      groups.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
