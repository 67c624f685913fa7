import type { Cache } from '../cache/port';
import type { SealedTurnsPage } from '../readmodels/sealed-turns';
import { forgetSaltedPrompts } from '../cache/llm-response-keys';

export type ForgetCachedTurnsDependencies = {
  cache: Cache;
  /** The read models' (ReadModels.listSealedTurns). */
  listSealedTurns(tenant: string, kids: readonly string[], page: { after?: number; limit: number }): Promise<SealedTurnsPage>;
};

/** Index entries read per page: a subject with many events is paged through, each page a few small queries and one cache round trip per turn. */
const PAGE = 1000;

/**
 * Take out of the LLM response cache the turns of `tenant` sealed under `kids` (a subject's data
 * keys, at its erasure): for each turn whose promptHash is salted (InferenceCompleted v8), its
 * entry `llm:prompt:<tenant>:<salted hash>` and the answer that entry names (the model the worker
 * asked for and the plain prompt hash), in the cache every process shares (Redis) or this
 * process's own. After it no cache key confirms a guess of those prompts, nothing ties one to the
 * subject's turns, and a task of the tenant that sends the same prompt is asked of the model, not
 * answered from the cache (`cached: true` told its submitter the prompt had been sent). An answer
 * another subject's turn shares goes too: that turn's resumed run rebuilds it from its event, as
 * after the cache's TTL. Turns of v7 and earlier record the plain hash but not the model the answer
 * is cached under: they are left to expire. Idempotent. Throws what the read models or the cache
 * throw (nothing is rolled back: what was removed stays removed, and a repeat finishes the rest).
 * @example await forgetCachedTurns({ cache, listSealedTurns: (t, k, p) => readModels.listSealedTurns!(t, k, p) }, 'acme', ['0193…']) // { turns: 3, removed: 6 }
 */
export async function forgetCachedTurns(deps: ForgetCachedTurnsDependencies, tenant: string, kids: readonly string[]): Promise<{ turns: number; removed: number }> {
  let turns = 0;
  let removed = 0;
  let after: number | undefined;
  do {
    const page = await deps.listSealedTurns(tenant, kids, { after, limit: PAGE });
    const salted = page.turns.filter((t) => t.salted).map((t) => t.promptHash);
    turns += salted.length;
    removed += await forgetSaltedPrompts(deps.cache, tenant, salted);
    after = page.next;
  } while (after !== undefined);
  return { turns, removed };
}
