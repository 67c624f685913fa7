import type { Hex } from '../core/hex';
import { IdempotencyKeyTakenError, type ApiKeyRecord, type IdempotentKey, type InsertOptions, type InsertUnderLimitParameters, type InsertUnderLimitReturnType, type KeyStore, type ListKeysParameters, type UnissuedKeysParameters } from './key-store';

/** A copy that shares no array with the caller's record. */
const copy = (r: ApiKeyRecord): ApiKeyRecord => ({ ...r, ...(r.agents ? { agents: [...r.agents] } : {}) });

/** In-process twin of SqlKeyStore. */
export class MemoryKeyStore implements KeyStore {
  private readonly byId = new Map<string, ApiKeyRecord>();
  /** The stream revision each changed record's agents reflect (SqlKeyStore's agents_revision). */
  private readonly agentsRevision = new Map<string, number>();
  /** Ids of the keys being issued, or let go unissued (SqlKeyStore's `issuing`). */
  private readonly issuing = new Set<string>();
  /** Idempotency key digest → the id of the key holding it and its request digest (SqlKeyStore's unique idempotency_key). */
  private readonly idempotency = new Map<string, { id: string; request: Hex }>();

  private handedOut(r: ApiKeyRecord | undefined): r is ApiKeyRecord {
    return r !== undefined && !this.issuing.has(r.id);
  }

  async insert(record: ApiKeyRecord, o: InsertOptions = {}): Promise<void> {
    if (this.byId.has(record.id)) throw new Error(`key ${record.id} exists`);
    if (o.idempotency && this.idempotency.has(o.idempotency.key)) throw new IdempotencyKeyTakenError();
    this.byId.set(record.id, copy(record));
    if (o.issuing) this.issuing.add(record.id);
    if (o.idempotency) this.idempotency.set(o.idempotency.key, { id: record.id, request: o.idempotency.request });
  }

  async insertUnderLimit(record: ApiKeyRecord, p: InsertUnderLimitParameters): Promise<InsertUnderLimitReturnType> {
    // No await between the count and the insert: nothing else runs in between.
    let active = 0;
    let issuing = 0;
    for (const r of this.byId.values()) {
      if (r.tenant !== record.tenant || r.revokedAt || r.id === p.except) continue;
      active++;
      if (this.issuing.has(r.id)) issuing++;
    }
    if (active >= p.limit) return { inserted: false, active, issuing };
    await this.insert(record, p);
    return { inserted: true, active, issuing };
  }

  async issue(id: string): Promise<boolean> {
    const r = this.byId.get(id);
    if (!r || r.revokedAt || !this.issuing.has(id)) return false;
    this.issuing.delete(id);
    return true;
  }

  async abandon(id: string, at: string): Promise<boolean> {
    const r = this.byId.get(id);
    if (!r || r.revokedAt || !this.issuing.has(id)) return false;
    r.revokedAt = at;
    this.forgetIdempotency(id);
    return true;
  }

  private forgetIdempotency(id: string): void {
    for (const [key, held] of this.idempotency) if (held.id === id) this.idempotency.delete(key);
  }

  async findByIdempotencyKey(key: Hex): Promise<IdempotentKey | undefined> {
    const held = this.idempotency.get(key);
    const r = held && this.byId.get(held.id);
    return held && r ? { record: copy(r), request: held.request, issued: !this.issuing.has(r.id) } : undefined;
  }

  async unissued(p: UnissuedKeysParameters): Promise<ApiKeyRecord[]> {
    return [...this.issuing]
      .map((id) => this.byId.get(id)!)
      .filter((r) => r.createdAt <= p.createdBefore)
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1))
      .slice(0, p.limit)
      .map(copy);
  }

  async keepRevoked(id: string): Promise<boolean> {
    const r = this.byId.get(id);
    if (!r || !r.revokedAt || !this.issuing.has(id)) return false;
    this.issuing.delete(id);
    return true;
  }

  async put(record: ApiKeyRecord): Promise<void> {
    this.byId.set(record.id, copy(record));
    this.issuing.delete(record.id);
  }

  async remove(id: string): Promise<void> {
    this.byId.delete(id);
    this.agentsRevision.delete(id);
    this.issuing.delete(id);
    this.forgetIdempotency(id);
  }

  async findByHash(hash: Hex): Promise<ApiKeyRecord | undefined> {
    for (const r of this.byId.values()) if (r.hash === hash) return this.handedOut(r) ? copy(r) : undefined;
    return undefined;
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const r = this.byId.get(id);
    return this.handedOut(r) ? copy(r) : undefined;
  }

  async list(p: ListKeysParameters): Promise<ApiKeyRecord[]> {
    return [...this.byId.values()]
      .filter((r) => this.handedOut(r) && (p.tenant === null || r.tenant === p.tenant) && (p.afterId === undefined || r.id > p.afterId))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, p.limit)
      .map(copy);
  }

  async setAgents(id: string, agents: string[] | undefined, revision: number): Promise<boolean> {
    const r = this.byId.get(id);
    const applied = this.agentsRevision.get(id);
    if (!r || (applied !== undefined && applied >= revision)) return false;
    const { agents: _old, ...rest } = r;
    this.byId.set(id, { ...rest, ...(agents ? { agents: [...agents] } : {}) });
    this.agentsRevision.set(id, revision);
    return true;
  }

  async narrowAgents(id: string, agents: string[]): Promise<boolean> {
    const r = this.byId.get(id);
    if (!r) return false;
    this.byId.set(id, { ...r, agents: r.agents ? r.agents.filter((a) => agents.includes(a)) : [...agents] });
    return true;
  }

  async revoke(id: string, at: string): Promise<boolean> {
    const r = this.byId.get(id);
    if (!this.handedOut(r) || r.revokedAt) return false;
    r.revokedAt = at;
    return true;
  }
}
