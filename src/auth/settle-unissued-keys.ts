import type { Clock } from '../core/clock';
import { systemClock } from '../core/clock';
import type { Actor } from '../core/envelope';
import { InvalidTransitionError } from '../core/errors';
import { handleCommand, type HandleCommandDependencies } from '../domain/handle-command';
import { apiKeyDecider, apiKeyStream, type ApiKeyState } from './api-key.decider';
import type { ApiKeyRecord, KeyStore } from './key-store';

/**
 * How long a key being issued (its row inserted, its ApiKeyCreated not yet recorded or the key not
 * yet handed out) holds its place under MAX_API_KEYS_PER_TENANT before the sweep lets it go. Far
 * longer than a POST /v1/keys takes; one that takes longer answers an error and hands nothing out.
 */
export const UNISSUED_KEY_HOLD_MS = 5 * 60_000;

/** Keys settled per run; the rest wait for the next (runs are a minute apart: docs/operations.md). */
const BATCH = 100;

/** Who records the end of a key never handed out: not the admin who asked for it. */
export const KEY_SWEEP_ACTOR: Actor = { kind: 'system', id: 'openmcp' };

export type SettleUnissuedKeysDependencies = HandleCommandDependencies & { keys: KeyStore; clock?: Clock };

/** `letGo`: keys this run let go with nothing in their log; `revoked`: keys whose log records them, now ending revoked (and listed so). */
export type SettleUnissuedKeysReturnType = { letGo: string[]; revoked: string[] };

/**
 * Record the end of a key that was not handed out: ApiKeyRevoked (by KEY_SWEEP_ACTOR) when its log
 * says it is active. Returns what its log says now: 'none' (nothing recorded), or 'revoked'.
 * Safe to run at once from several processes: a revocation recorded meanwhile is the same end.
 */
export async function recordUnissuedKeyEnd(deps: HandleCommandDependencies, key: Pick<ApiKeyRecord, 'id' | 'tenant'>, correlationId?: string): Promise<Exclude<ApiKeyState['status'], 'active'>> {
  const history = await deps.store.readStream(apiKeyStream(key.id));
  const state = history.reduce((s, e) => apiKeyDecider.evolve(s, e), apiKeyDecider.initialState());
  if (state.status !== 'active') return state.status;
  try {
    await handleCommand(deps, {
      decider: apiKeyDecider,
      stream: apiKeyStream(key.id),
      command: { type: 'RevokeApiKey', keyId: key.id },
      metadata: { tenant: key.tenant, actor: KEY_SWEEP_ACTOR, correlationId },
    });
  } catch (err) {
    // Another process recorded it first (its conflict retried into "revoked already").
    if (!(err instanceof InvalidTransitionError)) throw err;
  }
  return 'revoked';
}

/**
 * Settle the keys left being issued for longer than UNISSUED_KEY_HOLD_MS (a process killed between
 * a key's row and its ApiKeyCreated, or after it; an event store or database failure there), and
 * those let go since: every API process runs it at start and then every minute.
 * 1. A key still being issued is let go (`abandon`, which one `issue` still running loses): it stops
 *    counting against its tenant's limit, and never authenticates (it never did).
 * 2. Its log is completed: a key whose ApiKeyCreated was recorded gets ApiKeyRevoked (by the
 *    system) and is listed as the revoked key the log says it is.
 * 3. A key with nothing in its log leaves no trace: its row goes once it was let go a hold ago, so
 *    an append still in flight when it was let go has landed by then (and the request that made
 *    it, finding its key let go, records ApiKeyRevoked itself and answers an error).
 * Safe from several processes at once: each step is conditional, each key settled once. A key that
 * fails (the event store away) is tried again by the next run; the others are settled all the same,
 * and the run then throws an AggregateError naming the keys that failed.
 * @example await settleUnissuedKeys({ store, catalog, keys }) // { letGo: [...], revoked: [...] }
 */
export async function settleUnissuedKeys(deps: SettleUnissuedKeysDependencies): Promise<SettleUnissuedKeysReturnType> {
  const now = (deps.clock ?? systemClock)();
  const heldSince = new Date(now.getTime() - UNISSUED_KEY_HOLD_MS).toISOString();
  const out: SettleUnissuedKeysReturnType = { letGo: [], revoked: [] };
  const failed: { id: string; err: unknown }[] = [];
  for (const key of await deps.keys.unissued({ createdBefore: heldSince, limit: BATCH })) {
    // One key that cannot be settled now (its stream unreadable, say) does not hold up the others.
    try {
      const letGoNow = key.revokedAt === undefined;
      // Issued or let go by another process meanwhile: theirs to settle.
      if (letGoNow && !(await deps.keys.abandon(key.id, now.toISOString()))) continue;
      if ((await recordUnissuedKeyEnd(deps, key)) === 'revoked') {
        if (await deps.keys.keepRevoked(key.id)) out.revoked.push(key.id);
      } else if (letGoNow) out.letGo.push(key.id);
      else if (key.revokedAt! <= heldSince) await deps.keys.remove(key.id);
    } catch (err) {
      failed.push({ id: key.id, err });
    }
  }
  if (failed.length > 0) {
    const done = out.letGo.length + out.revoked.length > 0 ? ` (settled meanwhile: let go ${out.letGo.join(', ') || 'none'}; revoked ${out.revoked.join(', ') || 'none'})` : '';
    throw new AggregateError(failed.map((f) => f.err), `settling api keys never handed out failed for ${failed.map((f) => f.id).join(', ')}: ${(failed[0].err as Error)?.message ?? String(failed[0].err)}${done}`);
  }
  return out;
}
