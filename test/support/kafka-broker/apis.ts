import type { Reader, Writer } from './codec';
import type { GroupCoordinator } from './group-coordinator';
import type { PartitionLog } from './partition-log';

export type ApiContext = {
  nodeId: number;
  host: string;
  port: number;
  topics: Map<string, PartitionLog[]>;
  groups: GroupCoordinator;
  defaultPartitions: number;
  createTopic(name: string, partitions: number, maxMessageBytes?: number): boolean;
  /** createTopic for a CreateTopics request (its leaders may take a while: electLeadersAfter). */
  createTopicByRequest(name: string, partitions: number, maxMessageBytes?: number, configs?: Record<string, string | null>): boolean;
  /** A Kafka error code to refuse creating `name` with (authorization, policy), or 0. */
  refuseTopic(name: string): number;
  newProducerId(): number;
  append(topic: string, partition: number, records: Buffer): { error: number; baseOffset: number };
  waitForAppend(ms: number): Promise<void>;
  /** A Metadata request named `name` (whether or not it asked for auto-creation). */
  metadataAsked(name: string): void;
  /** Resolves when a CreateTopics request may be answered (holdCreateTopics). */
  createTopicsTurn(): Promise<void>;
  /** Whether a topic's partitions have no leader yet (just created, see electLeadersAfter). */
  leaderless(name: string): boolean;
};

export type Request = { apiKey: number; apiVersion: number; clientId: string; reader: Reader };

export const API: Record<number, string> = {
  0: 'Produce', 1: 'Fetch', 2: 'ListOffsets', 3: 'Metadata', 8: 'OffsetCommit', 9: 'OffsetFetch',
  10: 'FindCoordinator', 11: 'JoinGroup', 12: 'Heartbeat', 13: 'LeaveGroup', 14: 'SyncGroup',
  17: 'SaslHandshake', 18: 'ApiVersions', 19: 'CreateTopics', 22: 'InitProducerId', 36: 'SaslAuthenticate',
};

/** [min, max] per API key: only non-flexible versions, whose layouts are written below. */
const VERSIONS: [number, number, number][] = [
  [0, 3, 7], [1, 4, 11], [2, 1, 4], [3, 0, 6], [8, 2, 5], [9, 1, 5], [10, 0, 2],
  [11, 0, 5], [12, 0, 3], [13, 0, 3], [14, 0, 3], [17, 0, 1], [18, 0, 2], [19, 0, 3], [22, 0, 1],
  [36, 0, 1],
];

const E = { UNKNOWN_TOPIC_OR_PARTITION: 3, OFFSET_OUT_OF_RANGE: 1, LEADER_NOT_AVAILABLE: 5, UNSUPPORTED_VERSION: 35, TOPIC_ALREADY_EXISTS: 36, INVALID_PARTITIONS: 37 };
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

/** Writes the response body after the correlation id; 'no-response' for Produce with acks=0. */
export async function handleRequest(ctx: ApiContext, req: Request, w: Writer): Promise<void | 'no-response'> {
  const range = VERSIONS.find(([k]) => k === req.apiKey);
  if (req.apiKey === 18 && (!range || req.apiVersion > range[2])) {
    // librdkafka opens with ApiVersions v3 (flexible); the v0 layout with error 35 makes it retry with v0.
    apiVersionsBody(w.int16(E.UNSUPPORTED_VERSION), 0);
    return;
  }
  if (!range || req.apiVersion < range[1] || req.apiVersion > range[2]) throw new Error('unsupported API or version');
  const v = req.apiVersion;
  const r = req.reader;
  switch (req.apiKey) {
    case 18:
      return apiVersionsBody(w.int16(0), v);
    case 3:
      return metadata(ctx, r, w, v);
    case 19:
      return createTopics(ctx, r, w, v);
    case 22:
      return initProducerId(ctx, r, w);
    case 0:
      return produce(ctx, r, w, v);
    case 1:
      return fetch(ctx, r, w, v);
    case 2:
      return listOffsets(ctx, r, w, v);
    case 10:
      return findCoordinator(ctx, r, w, v);
    default:
      return groupApi(ctx, req, w);
  }
}

function apiVersionsBody(w: Writer, v: number): void {
  w.array(VERSIONS, (x, [k, min, max]) => x.int16(k).int16(min).int16(max));
  if (v >= 1) w.int32(0);
}

function metadata(ctx: ApiContext, r: Reader, w: Writer, v: number): void {
  const requested = r.nullableArray((x) => x.string());
  const autoCreate = v >= 4 ? r.bool() : true;
  // v1+: a null list means every topic; v0 used an empty list for that.
  const names = requested === null || (v === 0 && requested.length === 0) ? [...ctx.topics.keys()] : requested;
  if (v >= 3) w.int32(0);
  w.array([ctx.nodeId], (x, id) => {
    x.int32(id).string(ctx.host).int32(ctx.port);
    if (v >= 1) x.nullableString(null);
  });
  if (v >= 2) w.nullableString('openmcp-test-cluster');
  if (v >= 1) w.int32(ctx.nodeId);
  w.array(names, (x, name) => {
    if (requested !== null) ctx.metadataAsked(name);
    if (!ctx.topics.has(name) && autoCreate && TOPIC_NAME.test(name)) ctx.createTopic(name, ctx.defaultPartitions);
    const parts = ctx.topics.get(name) ?? [];
    x.int16(ctx.topics.has(name) ? 0 : E.UNKNOWN_TOPIC_OR_PARTITION).string(name);
    if (v >= 1) x.bool(false);
    // A partition without a leader yet, as Kafka answers while a new topic's leaders are elected.
    const leaderless = ctx.leaderless(name);
    x.array(parts, (y, _log, i) => {
      y.int16(leaderless ? E.LEADER_NOT_AVAILABLE : 0).int32(i).int32(leaderless ? -1 : ctx.nodeId);
      y.array([ctx.nodeId], (z, id) => z.int32(id));
      y.array([ctx.nodeId], (z, id) => z.int32(id));
      if (v >= 5) y.array([], () => undefined);
    });
  });
}

async function createTopics(ctx: ApiContext, r: Reader, w: Writer, v: number): Promise<void> {
  const topics = r.array((x) => {
    const name = x.string();
    const partitions = x.int32();
    x.int16();
    const assignments = x.array((y) => [y.int32(), y.array((z) => z.int32())]);
    const configs = x.array((y) => [y.string(), y.nullableString()] as const);
    const maxBytes = configs.find(([k]) => k === 'max.message.bytes')?.[1];
    return {
      name,
      partitions: partitions > 0 ? partitions : Math.max(assignments.length, ctx.defaultPartitions),
      maxMessageBytes: maxBytes ? Number(maxBytes) : undefined,
      configs: Object.fromEntries(configs),
    };
  });
  r.int32();
  const validateOnly = v >= 1 ? r.bool() : false;
  await ctx.createTopicsTurn();
  if (v >= 2) w.int32(0);
  w.array(topics, (x, t) => {
    let error = 0;
    if (!TOPIC_NAME.test(t.name)) error = 17;
    else if (ctx.topics.has(t.name)) error = E.TOPIC_ALREADY_EXISTS;
    else if ((error = ctx.refuseTopic(t.name))) void 0;
    else if (!validateOnly) ctx.createTopicByRequest(t.name, t.partitions, t.maxMessageBytes, t.configs);
    x.string(t.name).int16(error);
    if (v >= 1) x.nullableString(error ? `topic ${t.name}: error ${error}` : null);
  });
}

function initProducerId(ctx: ApiContext, r: Reader, w: Writer): void {
  r.nullableString();
  r.int32();
  w.int32(0).int16(0).int64(ctx.newProducerId()).int16(0);
}

function produce(ctx: ApiContext, r: Reader, w: Writer, v: number): void | 'no-response' {
  r.nullableString();
  const acks = r.int16();
  r.int32();
  const topics = r.array((x) => ({
    name: x.string(),
    partitions: x.array((y) => ({ index: y.int32(), records: y.nullableBytes() })),
  }));
  const results = topics.map((t) => ({
    name: t.name,
    partitions: t.partitions.map((p) => ({ index: p.index, ...ctx.append(t.name, p.index, p.records ?? Buffer.alloc(0)) })),
  }));
  if (acks === 0) return 'no-response';
  w.array(results, (x, t) => {
    x.string(t.name).array(t.partitions, (y, p) => {
      y.int32(p.index).int16(p.error).int64(p.baseOffset).int64(-1);
      if (v >= 5) y.int64(0);
    });
  });
  // Produce is the one response with throttle_time_ms last.
  w.int32(0);
}

async function fetch(ctx: ApiContext, r: Reader, w: Writer, v: number): Promise<void> {
  r.int32();
  const maxWaitMs = r.int32();
  const minBytes = r.int32();
  const maxBytes = r.int32();
  r.int8();
  if (v >= 7) {
    r.int32();
    r.int32();
  }
  const topics = r.array((x) => ({
    name: x.string(),
    partitions: x.array((y) => {
      const index = y.int32();
      if (v >= 9) y.int32();
      const offset = y.int64n();
      if (v >= 5) y.int64();
      return { index, offset, maxBytes: y.int32() };
    }),
  }));
  const collect = () => {
    let total = 0;
    let budget = maxBytes;
    const out = topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        const log = ctx.topics.get(t.name)?.[p.index];
        if (!log) return { index: p.index, error: E.UNKNOWN_TOPIC_OR_PARTITION, hw: -1, records: Buffer.alloc(0) };
        if (p.offset < 0 || p.offset > log.highWatermark) return { index: p.index, error: E.OFFSET_OUT_OF_RANGE, hw: log.highWatermark, records: Buffer.alloc(0) };
        const records = p.offset < log.highWatermark && budget > 0 ? log.read(p.offset, Math.min(p.maxBytes, budget)) : Buffer.alloc(0);
        total += records.length;
        budget -= records.length;
        return { index: p.index, error: 0, hw: log.highWatermark, records };
      }),
    }));
    return { total, out };
  };
  let res = collect();
  if (res.total < Math.max(1, minBytes) && maxWaitMs > 0) {
    const deadline = Date.now() + maxWaitMs;
    while (res.total < Math.max(1, minBytes) && Date.now() < deadline) {
      await ctx.waitForAppend(deadline - Date.now());
      res = collect();
    }
  }
  w.int32(0);
  if (v >= 7) w.int16(0).int32(0);
  w.array(res.out, (x, t) => {
    x.string(t.name).array(t.partitions, (y, p) => {
      y.int32(p.index).int16(p.error).int64(p.hw).int64(p.hw);
      if (v >= 5) y.int64(0);
      y.int32(-1); // aborted_transactions: null
      if (v >= 11) y.int32(-1); // preferred_read_replica: none
      y.nullableBytes(p.records);
    });
  });
}

function listOffsets(ctx: ApiContext, r: Reader, w: Writer, v: number): void {
  r.int32();
  if (v >= 2) r.int8();
  const topics = r.array((x) => ({
    name: x.string(),
    partitions: x.array((y) => {
      const index = y.int32();
      if (v >= 4) y.int32();
      return { index, timestamp: y.int64n() };
    }),
  }));
  if (v >= 2) w.int32(0);
  w.array(topics, (x, t) => {
    x.string(t.name).array(t.partitions, (y, p) => {
      const log = ctx.topics.get(t.name)?.[p.index];
      const offset = !log ? -1 : p.timestamp === -2 ? 0 : p.timestamp === -1 ? log.highWatermark : log.offsetForTimestamp(p.timestamp);
      y.int32(p.index).int16(log ? 0 : E.UNKNOWN_TOPIC_OR_PARTITION).int64(-1).int64(offset);
      if (v >= 4) y.int32(0);
    });
  });
}

function findCoordinator(ctx: ApiContext, r: Reader, w: Writer, v: number): void {
  r.string();
  if (v >= 1) r.int8();
  if (v >= 1) w.int32(0);
  w.int16(0);
  if (v >= 1) w.nullableString(null);
  w.int32(ctx.nodeId).string(ctx.host).int32(ctx.port);
}

async function groupApi(ctx: ApiContext, req: Request, w: Writer): Promise<void> {
  const r = req.reader;
  const v = req.apiVersion;
  switch (req.apiKey) {
    case 11: {
      const groupId = r.string();
      const sessionTimeoutMs = r.int32();
      const rebalanceTimeoutMs = v >= 1 ? r.int32() : sessionTimeoutMs;
      const memberId = r.string();
      if (v >= 5) r.nullableString();
      const protocolType = r.string();
      const protocols = r.array((x) => ({ name: x.string(), metadata: Buffer.from(x.bytes()) }));
      const res = await ctx.groups.join({
        groupId, clientId: req.clientId, memberId, sessionTimeoutMs, rebalanceTimeoutMs, protocolType, protocols,
        requireKnownMemberId: v >= 4,
      });
      if (v >= 2) w.int32(0);
      w.int16(res.error).int32(res.generationId).string(res.protocolName).string(res.leader).string(res.memberId);
      w.array(res.members, (x, m) => {
        x.string(m.memberId);
        if (v >= 5) x.nullableString(null);
        x.nullableBytes(m.metadata);
      });
      return;
    }
    case 14: {
      const groupId = r.string();
      const generationId = r.int32();
      const memberId = r.string();
      if (v >= 3) r.nullableString();
      const assignments = r.array((x) => ({ memberId: x.string(), assignment: Buffer.from(x.bytes()) }));
      const res = await ctx.groups.sync(groupId, generationId, memberId, assignments);
      if (v >= 1) w.int32(0);
      w.int16(res.error).nullableBytes(res.assignment);
      return;
    }
    case 12: {
      const groupId = r.string();
      const generationId = r.int32();
      const memberId = r.string();
      if (v >= 1) w.int32(0);
      w.int16(ctx.groups.heartbeat(groupId, generationId, memberId));
      return;
    }
    case 13: {
      const groupId = r.string();
      const members = v >= 3 ? r.array((x) => ({ id: x.string(), instance: x.nullableString() })) : [{ id: r.string(), instance: null }];
      const errors = members.map((m) => ctx.groups.leave(groupId, m.id));
      if (v >= 1) w.int32(0);
      w.int16(v >= 3 ? 0 : errors[0]);
      if (v >= 3) w.array(members, (x, m, i) => x.string(m.id).nullableString(m.instance).int16(errors[i]));
      return;
    }
    case 8: {
      const groupId = r.string();
      const generationId = r.int32();
      const memberId = r.string();
      if (v >= 2 && v <= 4) r.int64();
      const topics = r.array((x) => ({
        name: x.string(),
        partitions: x.array((y) => ({ index: y.int32(), offset: y.int64n(), metadata: y.nullableString() })),
      }));
      const flat = topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.index, offset: p.offset, metadata: p.metadata })));
      const error = ctx.groups.commit(groupId, generationId, memberId, flat);
      if (v >= 3) w.int32(0);
      w.array(topics, (x, t) => x.string(t.name).array(t.partitions, (y, p) => y.int32(p.index).int16(error)));
      return;
    }
    case 9: {
      const groupId = r.string();
      const requested = r.nullableArray((x) => ({ name: x.string(), partitions: x.array((y) => y.int32()) }));
      const topics = requested ?? [...ctx.groups.committedTopics(groupId)].map(([name, partitions]) => ({ name, partitions }));
      const refused = ctx.groups.refusal(groupId);
      if (v >= 3) w.int32(0);
      w.array(topics, (x, t) => {
        x.string(t.name).array(t.partitions, (y, p) => {
          const c = refused ? undefined : ctx.groups.committed(groupId, t.name, p);
          y.int32(p).int64(c?.offset ?? -1);
          if (v >= 5) y.int32(-1);
          y.nullableString(c?.metadata ?? '').int16(refused);
        });
      });
      if (v >= 2) w.int16(refused);
      return;
    }
    default:
      throw new Error('unreachable');
  }
}
