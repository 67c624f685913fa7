import { randomUUID } from 'node:crypto';

export const ERR = {
  NONE: 0,
  ILLEGAL_GENERATION: 22,
  INCONSISTENT_GROUP_PROTOCOL: 23,
  UNKNOWN_MEMBER_ID: 25,
  INVALID_SESSION_TIMEOUT: 26,
  REBALANCE_IN_PROGRESS: 27,
  GROUP_AUTHORIZATION_FAILED: 30,
  MEMBER_ID_REQUIRED: 79,
} as const;

export type JoinRequest = {
  groupId: string;
  clientId: string;
  memberId: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocolType: string;
  protocols: { name: string; metadata: Buffer }[];
  /** JoinGroup v4+: a new member must first fetch its id (MEMBER_ID_REQUIRED). */
  requireKnownMemberId: boolean;
};

export type JoinResponse = {
  error: number;
  generationId: number;
  protocolName: string;
  leader: string;
  memberId: string;
  members: { memberId: string; metadata: Buffer }[];
};

type Member = {
  id: string;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: { name: string; metadata: Buffer }[];
  lastSeen: number;
  join?: (r: JoinResponse) => void;
  sync?: (r: { error: number; assignment: Buffer }) => void;
  assignment: Buffer;
};

type State = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

class Group {
  state: State = 'Empty';
  generationId = 0;
  leader = '';
  protocol = '';
  protocolType = '';
  readonly members = new Map<string, Member>();
  readonly pendingIds = new Set<string>();
  readonly offsets = new Map<string, { offset: number; metadata: string | null }>();
  timer?: NodeJS.Timeout;
  holding = false;
  constructor(readonly id: string) {}
}

/**
 * Kafka's group membership protocol, enough for kafkajs: a rebalance completes when every known
 * member has rejoined or its rebalance timeout ran out; the first rebalance of an empty group
 * waits `initialRebalanceDelayMs` so members started together land in one generation.
 */
export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();
  private readonly refusals = new Map<string, number>();
  private readonly sweeper: NodeJS.Timeout;

  /** `sessionTimeoutRange`: the range a member's session timeout must be in, as the broker's group.min/max.session.timeout.ms. */
  constructor(
    private readonly initialRebalanceDelayMs: number,
    private readonly sessionTimeoutRange = { min: 0, max: Infinity },
  ) {
    this.sweeper = setInterval(() => this.expireSessions(), 250);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const g of this.groups.values()) clearTimeout(g.timer);
  }

  /**
   * Answer every request of group `groupId` (JoinGroup, SyncGroup, Heartbeat, LeaveGroup,
   * OffsetCommit, OffsetFetch) with `error`, as Kafka does with 30 GROUP_AUTHORIZATION_FAILED once
   * the group's ACL is gone; 0 lifts it. A refused member's heartbeats do not count: its session
   * runs out.
   */
  refuse(groupId: string, error: number): void {
    if (error) this.refusals.set(groupId, error);
    else this.refusals.delete(groupId);
  }

  /** The error `refuse` set for the group, or 0. */
  refusal(groupId: string): number {
    return this.refusals.get(groupId) ?? 0;
  }

  private group(id: string): Group {
    let g = this.groups.get(id);
    if (!g) this.groups.set(id, (g = new Group(id)));
    return g;
  }

  join(req: JoinRequest): Promise<JoinResponse> {
    const g = this.group(req.groupId);
    const fail = (error: number, memberId = req.memberId): Promise<JoinResponse> =>
      Promise.resolve({ error, generationId: -1, protocolName: '', leader: '', memberId, members: [] });
    // Authorization first, as Kafka does (KafkaApis, before the coordinator), then the session timeout (GroupCoordinator.handleJoinGroup).
    if (this.refusal(req.groupId)) return fail(this.refusal(req.groupId));
    if (req.sessionTimeoutMs < this.sessionTimeoutRange.min || req.sessionTimeoutMs > this.sessionTimeoutRange.max) return fail(ERR.INVALID_SESSION_TIMEOUT);
    if (g.protocolType && g.members.size > 0 && g.protocolType !== req.protocolType) return fail(ERR.INCONSISTENT_GROUP_PROTOCOL);
    let memberId = req.memberId;
    if (!memberId) {
      memberId = `${req.clientId}-${randomUUID()}`;
      if (req.requireKnownMemberId) {
        g.pendingIds.add(memberId);
        return fail(ERR.MEMBER_ID_REQUIRED, memberId);
      }
    } else if (!g.members.has(memberId) && !g.pendingIds.delete(memberId)) {
      return fail(ERR.UNKNOWN_MEMBER_ID);
    }
    const existing = g.members.get(memberId);
    const member: Member = existing ?? { id: memberId, sessionTimeoutMs: 0, rebalanceTimeoutMs: 0, protocols: [], lastSeen: 0, assignment: Buffer.alloc(0) };
    Object.assign(member, {
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocols: req.protocols,
      lastSeen: Date.now(),
    });
    g.members.set(memberId, member);
    g.protocolType = req.protocolType;
    return new Promise((resolve) => {
      member.join?.({ error: ERR.UNKNOWN_MEMBER_ID, generationId: -1, protocolName: '', leader: '', memberId, members: [] });
      member.join = resolve;
      this.prepareRebalance(g);
      this.maybeCompleteJoin(g);
    });
  }

  sync(groupId: string, generationId: number, memberId: string, assignments: { memberId: string; assignment: Buffer }[]): Promise<{ error: number; assignment: Buffer }> {
    const g = this.group(groupId);
    const m = g.members.get(memberId);
    const empty = Buffer.alloc(0);
    if (this.refusal(groupId)) return Promise.resolve({ error: this.refusal(groupId), assignment: empty });
    if (!m) return Promise.resolve({ error: ERR.UNKNOWN_MEMBER_ID, assignment: empty });
    if (generationId !== g.generationId) return Promise.resolve({ error: ERR.ILLEGAL_GENERATION, assignment: empty });
    if (g.state === 'PreparingRebalance') return Promise.resolve({ error: ERR.REBALANCE_IN_PROGRESS, assignment: empty });
    m.lastSeen = Date.now();
    if (g.state === 'Stable') return Promise.resolve({ error: ERR.NONE, assignment: m.assignment });
    return new Promise((resolve) => {
      m.sync = resolve;
      if (memberId === g.leader) {
        for (const member of g.members.values()) member.assignment = empty;
        for (const a of assignments) {
          const target = g.members.get(a.memberId);
          if (target) target.assignment = a.assignment;
        }
        g.state = 'Stable';
      }
      if (g.state === 'Stable') {
        for (const member of g.members.values()) {
          member.sync?.({ error: ERR.NONE, assignment: member.assignment });
          member.sync = undefined;
        }
      }
    });
  }

  heartbeat(groupId: string, generationId: number, memberId: string): number {
    if (this.refusal(groupId)) return this.refusal(groupId);
    const g = this.group(groupId);
    const m = g.members.get(memberId);
    if (!m) return ERR.UNKNOWN_MEMBER_ID;
    m.lastSeen = Date.now();
    if (g.state === 'PreparingRebalance') return ERR.REBALANCE_IN_PROGRESS;
    if (generationId !== g.generationId) return ERR.ILLEGAL_GENERATION;
    return ERR.NONE;
  }

  leave(groupId: string, memberId: string): number {
    if (this.refusal(groupId)) return this.refusal(groupId);
    const g = this.group(groupId);
    if (!g.members.has(memberId)) return ERR.UNKNOWN_MEMBER_ID;
    this.removeMember(g, memberId);
    return ERR.NONE;
  }

  /** Generation -1 is a commit from outside the group (admin or a simple consumer). */
  commit(groupId: string, generationId: number, memberId: string, offsets: { topic: string; partition: number; offset: number; metadata: string | null }[]): number {
    if (this.refusal(groupId)) return this.refusal(groupId);
    const g = this.group(groupId);
    if (generationId >= 0) {
      if (!g.members.has(memberId)) return ERR.UNKNOWN_MEMBER_ID;
      if (generationId !== g.generationId) return ERR.ILLEGAL_GENERATION;
    }
    for (const o of offsets) g.offsets.set(`${o.topic}\u0000${o.partition}`, { offset: o.offset, metadata: o.metadata });
    return ERR.NONE;
  }

  committed(groupId: string, topic: string, partition: number): { offset: number; metadata: string | null } | undefined {
    return this.groups.get(groupId)?.offsets.get(`${topic}\u0000${partition}`);
  }

  /** The session timeout each member of the group asked for when it joined. */
  sessionTimeouts(groupId: string): number[] {
    return [...(this.groups.get(groupId)?.members.values() ?? [])].map((m) => m.sessionTimeoutMs);
  }

  committedTopics(groupId: string): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const key of this.groups.get(groupId)?.offsets.keys() ?? []) {
      const [topic, p] = key.split('\u0000');
      out.set(topic, [...(out.get(topic) ?? []), Number(p)]);
    }
    return out;
  }

  private prepareRebalance(g: Group): void {
    if (g.state === 'PreparingRebalance') return;
    const initial = g.state === 'Empty';
    g.state = 'PreparingRebalance';
    for (const m of g.members.values()) {
      m.sync?.({ error: ERR.REBALANCE_IN_PROGRESS, assignment: Buffer.alloc(0) });
      m.sync = undefined;
    }
    const timeout = Math.max(0, ...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));
    clearTimeout(g.timer);
    if (initial) {
      // Hold the first rebalance briefly so members started together join one generation.
      g.holding = true;
      g.timer = setTimeout(() => {
        g.holding = false;
        g.timer = setTimeout(() => this.completeJoin(g, true), timeout);
        this.maybeCompleteJoin(g);
      }, this.initialRebalanceDelayMs);
    } else {
      g.timer = setTimeout(() => this.completeJoin(g, true), timeout);
    }
  }

  private maybeCompleteJoin(g: Group): void {
    if (g.state !== 'PreparingRebalance') return;
    if (g.holding) return;
    if ([...g.members.values()].every((m) => m.join)) this.completeJoin(g, false);
  }

  private completeJoin(g: Group, timedOut: boolean): void {
    if (g.state !== 'PreparingRebalance') return;
    clearTimeout(g.timer);
    g.timer = undefined;
    if (timedOut) for (const m of [...g.members.values()]) if (!m.join) g.members.delete(m.id);
    if (g.members.size === 0) {
      g.state = 'Empty';
      g.generationId++;
      return;
    }
    g.generationId++;
    const members = [...g.members.values()];
    if (!g.members.has(g.leader)) g.leader = members[0].id;
    const leader = g.members.get(g.leader)!;
    g.protocol = leader.protocols.find((p) => members.every((m) => m.protocols.some((q) => q.name === p.name)))?.name ?? leader.protocols[0]?.name ?? '';
    g.state = 'CompletingRebalance';
    for (const m of members) {
      const join = m.join!;
      m.join = undefined;
      join({
        error: ERR.NONE,
        generationId: g.generationId,
        protocolName: g.protocol,
        leader: g.leader,
        memberId: m.id,
        members: m.id === g.leader ? members.map((x) => ({ memberId: x.id, metadata: x.protocols.find((p) => p.name === g.protocol)?.metadata ?? Buffer.alloc(0) })) : [],
      });
    }
  }

  private removeMember(g: Group, memberId: string): void {
    const m = g.members.get(memberId);
    if (!m) return;
    g.members.delete(memberId);
    m.join?.({ error: ERR.UNKNOWN_MEMBER_ID, generationId: -1, protocolName: '', leader: '', memberId, members: [] });
    m.sync?.({ error: ERR.UNKNOWN_MEMBER_ID, assignment: Buffer.alloc(0) });
    if (g.members.size === 0) {
      clearTimeout(g.timer);
      g.timer = undefined;
      g.holding = false;
      g.state = 'Empty';
      g.generationId++;
      return;
    }
    if (g.state === 'PreparingRebalance') this.maybeCompleteJoin(g);
    else this.prepareRebalance(g);
  }

  private expireSessions(): void {
    const now = Date.now();
    for (const g of this.groups.values()) {
      for (const m of [...g.members.values()]) {
        if (!m.join && !m.sync && now - m.lastSeen > m.sessionTimeoutMs) this.removeMember(g, m.id);
      }
    }
  }
}
