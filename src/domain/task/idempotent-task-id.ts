import { v5 as uuidv5 } from 'uuid';

/** Fixed namespace of task ids derived from an Idempotency-Key (never change it: ids already handed out depend on it). */
const NAMESPACE = '6d1f4a3e-2b7c-5e90-8a41-0c9f3b2d7e15';

/** What an `Idempotency-Key` may hold (draft-ietf-httpapi-idempotency-key-header: a string; we take printable ASCII, 1 to 255 characters). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e][\x20-\x7e]{0,253}[\x21-\x7e]$|^[\x21-\x7e]$/;

/**
 * The id of the task a tenant submits with `key`: a UUIDv5 of (tenant, key). The same key of the
 * same tenant always names the same task stream, so a retried POST appends to a stream that
 * already exists and the event store's "no stream yet" check refuses the second TaskSubmitted —
 * on any API replica, with no table of keys to keep in step. Requires a key matching IDEMPOTENCY_KEY.
 *
 * @example taskIdForIdempotencyKey('acme', 'order-42') // the same uuid on every call
 */
export function taskIdForIdempotencyKey(tenant: string, key: string): string {
  return uuidv5(`${tenant}\n${key}`, NAMESPACE);
}
