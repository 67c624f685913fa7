import { expect } from 'chai';
import fc from 'fast-check';
import type { Cache } from '../../src/cache/port';
import { CacheSkippedError, skipWhileDown, type SkipWhileDownOptions } from '../../src/cache/skip-while-down';

/**
 * The implementation before run() lost its async frame (an `async` run, one `await command()`),
 * kept here as the reference the current one must behave like: same commands sent, same answers,
 * same windows, onError told as often.
 */
function referenceSkipWhileDown(cache: Cache, o: SkipWhileDownOptions = {}): Pick<Cache, 'get'> & { readonly skipping: boolean } {
  const skipMs = o.skipMs ?? 5000;
  let downUntil = 0;
  let retrying = false;
  const run = async <T>(command: () => Promise<T>): Promise<T> => {
    if (Date.now() < downUntil) throw new CacheSkippedError(cache.name, downUntil);
    if (retrying) throw new CacheSkippedError(cache.name);
    const retry = downUntil !== 0;
    if (retry) retrying = true;
    try {
      const result = await command();
      if (retry) downUntil = 0;
      return result;
    } catch (err) {
      const wasUp = Date.now() >= downUntil;
      downUntil = Date.now() + skipMs;
      if (wasUp) o.onError?.(err);
      throw err;
    } finally {
      if (retry) retrying = false;
    }
  };
  return {
    get skipping() {
      return Date.now() < downUntil || retrying;
    },
    get: (key) => run(() => cache.get(key)),
  };
}

/** How a command sent to the fake cache ends: later (settled by a step), at once, by throwing in the call, or a value that is no promise (not a Cache's, but `await` took it). */
type Outcome = 'pending' | 'resolveNow' | 'rejectNow' | 'throw' | 'value';
type Step = { kind: 'calls'; outcomes: Outcome[] } | { kind: 'settle'; index: number; ok: boolean } | { kind: 'advance'; ms: number };

const SKIP_MS = 100;
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('calls' as const), outcomes: fc.array(fc.constantFrom<Outcome>('pending', 'resolveNow', 'rejectNow', 'throw', 'value'), { minLength: 1, maxLength: 3 }) }),
  fc.record({ kind: fc.constant('settle' as const), index: fc.nat(5), ok: fc.boolean() }),
  fc.record({ kind: fc.constant('advance' as const), ms: fc.constantFrom(0, 1, SKIP_MS - 1, SKIP_MS, SKIP_MS + 1, 3 * SKIP_MS) }),
);

const flush = async () => {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
};

/** What an implementation did over `steps`: per step, the commands sent (in order), the answers, onError calls, `skipping`. */
async function trace(make: typeof referenceSkipWhileDown, steps: Step[]): Promise<string[]> {
  const realNow = Date.now;
  let now = 1_000_000;
  Date.now = () => now;
  try {
    const log: string[] = [];
    let answers: string[] = [];
    const pending: Array<{ id: number; resolve(v: string): void; reject(e: Error): void }> = [];
    const outcomes = new Map<string, Outcome>();
    const fake = {
      name: 'fake',
      get(key: string): Promise<string | undefined> {
        log.push(`sent ${key}`);
        const outcome = outcomes.get(key)!;
        if (outcome === 'throw') throw new Error(`thrown ${key}`);
        if (outcome === 'resolveNow') return Promise.resolve(`v ${key}`);
        if (outcome === 'value') return `v ${key}` as unknown as Promise<string>;
        if (outcome === 'rejectNow') return Promise.reject(new Error(`rejected ${key}`));
        return new Promise((resolve, reject) => pending.push({ id: Number(key), resolve, reject }));
      },
    } as unknown as Cache;
    const c = make(fake, { skipMs: SKIP_MS, onError: (err) => log.push(`onError ${(err as Error).message}`) });
    let next = 0;
    for (const step of steps) {
      if (step.kind === 'advance') now += step.ms;
      if (step.kind === 'settle' && pending.length > 0) {
        const [p] = pending.splice(step.index % pending.length, 1);
        if (step.ok) p.resolve(`v ${p.id}`);
        else p.reject(new Error(`rejected ${p.id}`));
      }
      if (step.kind === 'calls') {
        for (const outcome of step.outcomes) {
          const key = String(next++);
          outcomes.set(key, outcome);
          c.get(key).then(
            (v) => answers.push(`${key}: ${v}`),
            (e: Error) => answers.push(`${key}: ${e instanceof CacheSkippedError ? 'skipped ' : ''}${e.message}`),
          );
        }
      }
      await flush();
      // Answers settled in one step may come in another order (the reference takes more ticks).
      log.push(...answers.sort(), `skipping ${c.skipping}`);
      answers = [];
    }
    return log;
  } finally {
    Date.now = realNow;
  }
}

describe('skipWhileDown: the same behaviour as the async reference implementation', () => {
  it('over random sequences of commands (answering later or at once, rejecting, throwing in the call), answers and the passing of time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { maxLength: 25 }), async (steps) => {
        expect(await trace(skipWhileDown, steps)).to.deep.equal(await trace(referenceSkipWhileDown, steps));
      }),
      { numRuns: 300 },
    );
  });

  it('a command that throws in the call opens the window at once: the next command of the same turn is not sent', async () => {
    const steps: Step[] = [{ kind: 'calls', outcomes: ['throw', 'resolveNow'] }];
    const log = await trace(skipWhileDown, steps);
    expect(log.filter((l) => l.startsWith('sent'))).to.deep.equal(['sent 0']);
    expect(log.filter((l) => l.startsWith('onError'))).to.have.length(1);
  });
});
