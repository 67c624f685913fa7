/** A subject's live data key: `kid` names it in every payload it seals. */
export type SubjectKey = { kid: string; key: Buffer };

/**
 * What erasing a subject's key did: `erased` = the kids deleted now; `before` = its kids erased
 * earlier; `known` = the subject ever had a key.
 */
/**
 * One data key a subject has had, without the key: when it was made and, once erased, when
 * (`erasedAt`). What a person asking "was my data erased, and when?" is shown (GET /v1/subjects/:subject).
 */
export type SubjectKeyRecord = { kid: string; createdAt: string; erasedAt?: string };

export type EraseSubjectKeyReturnType = { erased: string[]; before: string[]; known: boolean };

/**
 * Where subjects' data keys live (MCP_PAYLOAD_POLICY=encrypted). Adapters: SQL (knex) and
 * in-memory. Keys are as protected as the database that holds them: there is no KMS here.
 */
export interface SubjectKeyStore {
  /**
   * The subject's live key, created on first use. Processes creating one subject's key at once
   * end with the same key: one insert wins, the others read it.
   */
  keyFor(subject: string): Promise<SubjectKey>;
  /** The key named `kid`, or undefined once erased (or never made here). */
  keyById(kid: string): Promise<Buffer | undefined>;
  /**
   * Whether the key named `kid` is erased (or was never made here), as the store holds it now:
   * never from a process's key cache, which may hold a key another process erased for up to its
   * TTL (cachedSubjectKeys). Absent, keyById is the store's own answer (an uncached store).
   */
  isErased?(kid: string): Promise<boolean>;
  /**
   * Delete the subject's live key, for good: every payload sealed with it becomes unreadable.
   * Idempotent; a later keyFor makes a new key (new data of the subject is sealed anew).
   */
  erase(subject: string): Promise<EraseSubjectKeyReturnType>;
  /** Every key the subject has had, oldest first ([] when it never had one): the live one last, if any. */
  keysOf(subject: string): Promise<SubjectKeyRecord[]>;
}
