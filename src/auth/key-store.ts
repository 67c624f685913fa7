import type { Hex } from '../core/hex';
import type { Role } from './roles';

export type ApiKeyRecord = {
  id: string;
  tenant: string;
  role: Role;
  name?: string;
  crossTenant: boolean;
  /** The agent ids the key may act as (submit tasks as, cancel and approve their tasks); absent = any agent of its tenant. */
  agents?: string[];
  /** First characters of the key, for people to recognise it; never enough to use it. */
  prefix: string;
  hash: Hex;
  createdAt: string;
  createdBy: string;
  revokedAt?: string;
};

export type ListKeysParameters = {
  /** null = every tenant. */
  tenant: string | null;
  limit: number;
  /** Exclusive: ids sort by creation (UUIDv7), so the last id of a page is the cursor. */
  afterId?: string;
};

/**
 * The `Idempotency-Key` a key was issued under, as stored: digests only, never the key a client
 * chose (nor, of course, anything of the secret): keyIdempotency makes them.
 */
export type KeyIdempotency = {
  /** SHA-256 of the asking tenant and the Idempotency-Key: held by one key at most, from its insert until it is let go unissued. */
  key: Hex;
  /** SHA-256 of what was asked (role, tenant, name, crossTenant, agents), to tell a retry from another request under the same key. */
  request: Hex;
};

/** The key an Idempotency-Key issued, or is issuing (`issued: false`: its request is still being answered). */
export type IdempotentKey = { record: ApiKeyRecord; request: Hex; issued: boolean };

/** `insert` or `insertUnderLimit` was given an idempotency key another key holds: nothing was inserted. */
export class IdempotencyKeyTakenError extends Error {
  constructor() {
    super('another api key holds this idempotency key');
  }
}

export type InsertOptions = {
  /**
   * Insert the key as being issued: it counts against its tenant's limit (insertUnderLimit) but
   * neither authenticates nor is found (findByHash, get, list) until `issue` hands it out.
   */
  issuing?: boolean;
  /**
   * The Idempotency-Key it is issued under: when another key holds its idempotency key (being issued,
   * handed out, revoked since), nothing is inserted and IdempotencyKeyTakenError is thrown; keys
   * inserted at once with the same one, one goes in. Let go unissued (`abandon`), a key gives it up.
   */
  idempotency?: KeyIdempotency;
};

export type InsertUnderLimitParameters = InsertOptions & {
  /** Active (unrevoked) keys the record's tenant may hold, the new one included. */
  limit: number;
  /** A key id not counted (the bootstrap admin key: the configuration's own). */
  except?: string;
};

/** `active`: the tenant's active keys counted before the insert (`except` aside); `issuing`: how many of them are still being issued. */
export type InsertUnderLimitReturnType = { inserted: boolean; active: number; issuing: number };

export type UnissuedKeysParameters = {
  /** Keys whose row was inserted (createdAt) at or before this ISO time. */
  createdBefore: string;
  limit: number;
};

/** Where API keys live (only their hashes). Adapters: SQL (knex) and in-memory. */
export interface KeyStore {
  insert(record: ApiKeyRecord, o?: InsertOptions): Promise<void>;
  /**
   * Insert `record` unless its tenant already holds `limit` active keys (those being issued
   * included); then nothing is inserted. The count and the insert are one step: keys inserted at
   * once never pass the limit.
   */
  insertUnderLimit(record: ApiKeyRecord, p: InsertUnderLimitParameters): Promise<InsertUnderLimitReturnType>;
  /** Hand out a key inserted as being issued: from now on it authenticates and is listed. False when it is not being issued (or was let go: `abandon`). */
  issue(id: string): Promise<boolean>;
  /**
   * Let go a key being issued (revokedAt = `at`): it stops counting against the limit and `issue`
   * refuses it; it stays unlisted, and gives up its idempotency key (a retry of its request issues
   * another). False when it is not being issued or was let go already. One of `issue` and
   * `abandon` wins, whatever the order they run in.
   */
  abandon(id: string, at: string): Promise<boolean>;
  /** The key that holds this idempotency key (KeyIdempotency.key): being issued or handed out, revoked or not; never one let go unissued. */
  findByIdempotencyKey(key: Hex): Promise<IdempotentKey | undefined>;
  /** Keys still being issued, or let go (revokedAt set) and not yet settled, inserted at or before `createdBefore`, oldest first. */
  unissued(p: UnissuedKeysParameters): Promise<ApiKeyRecord[]>;
  /** A let-go key its log records (ApiKeyCreated, then ApiKeyRevoked): listed from now on as the revoked key the log says it is. False when not such a key. */
  keepRevoked(id: string): Promise<boolean>;
  /** Insert or replace by id (the bootstrap admin key, whose value may change between starts). */
  put(record: ApiKeyRecord): Promise<void>;
  remove(id: string): Promise<void>;
  /** The key with this hash, unless it is being issued or was let go unissued. */
  findByHash(hash: Hex): Promise<ApiKeyRecord | undefined>;
  /** The key with this id, unless it is being issued or was let go unissued. */
  get(id: string): Promise<ApiKeyRecord | undefined>;
  /** Keys handed out (revoked ones included), never those being issued or let go unissued. */
  list(p: ListKeysParameters): Promise<ApiKeyRecord[]>;
  /**
   * Set the agents the key may act as (undefined = any), as of `revision` of its stream (the
   * ApiKeyAgentsChanged it applies, or the head the list was read at): written only when newer
   * than the revision the record already reflects (none yet = older than any), so changes written
   * out of order end with the last one. False when not written (no such key, or not newer).
   */
  setAgents(id: string, agents: string[] | undefined, revision: number): Promise<boolean>;
  /**
   * Narrow a key's agents to those it has that are also in `agents` (all of `agents` when it has no
   * limit), leaving the revision setAgents compares as it is: the step before recording a change
   * that takes agents away, so the key is never wider than its log says. False when no such key.
   */
  narrowAgents(id: string, agents: string[]): Promise<boolean>;
  /** Mark revoked; false when the key does not exist or was already revoked. */
  revoke(id: string, at: string): Promise<boolean>;
}
