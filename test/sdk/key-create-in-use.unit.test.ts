import { expect } from 'chai';
import { ConflictApiError, OpenMcpClient } from '../../src/sdk';

const problem = (status: number, code: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: `https://openmcp.dev/errors#${code.toLowerCase()}`, title: 'Conflict', status, code, detail: 'x', keyId: 'k-1' }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });

/** A fetch answering each call in turn (the last one from then on): an Error is thrown (the answer lost), a Response returned. */
function answering(...answers: (() => Response | Error)[]): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  return {
    fetch: async () => {
      const a = answers[Math.min(calls++, answers.length - 1)]();
      if (a instanceof Error) throw a;
      return a;
    },
    calls: () => calls,
  };
}

const client = (f: typeof fetch) => new OpenMcpClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', fetch: f, maxRetryDelayMs: 1 });
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as ConflictApiError);
const BODY = { role: 'viewer' as const, tenant: 'acme' };

/**
 * keys.create with an idempotencyKey: a retry after a lost answer that finds the first attempt
 * still issuing its key (409 IDEMPOTENCY_KEY_IN_USE, Retry-After) waits and asks again, as the
 * answer tells it to, rather than throwing what is only "not yet".
 */
describe('SDK keys.create: IDEMPOTENCY_KEY_IN_USE is waited out, not thrown', () => {
  it('a lost answer, then "still issuing": asked again until the answer names the key issued', async () => {
    const f = answering(() => new TypeError('fetch failed (answer lost)'), () => problem(409, 'IDEMPOTENCY_KEY_IN_USE', { 'retry-after': '1' }), () => problem(409, 'API_KEY_ALREADY_ISSUED'));
    const err = await failure(client(f.fetch).keys.create(BODY, { idempotencyKey: 'mint-1' }));
    expect(f.calls()).to.equal(3);
    expect(err).to.be.instanceOf(ConflictApiError);
    expect(err).to.include({ code: 'API_KEY_ALREADY_ISSUED' });
  });

  it('still issuing after every retry: thrown as it came (ConflictApiError IDEMPOTENCY_KEY_IN_USE)', async () => {
    const f = answering(() => problem(409, 'IDEMPOTENCY_KEY_IN_USE', { 'retry-after': '1' }));
    const err = await failure(client(f.fetch).keys.create(BODY, { idempotencyKey: 'mint-2' }));
    expect(f.calls()).to.equal(4);
    expect(err).to.include({ code: 'IDEMPOTENCY_KEY_IN_USE' });
  });

  it('another 409 (API_KEY_LIMIT) is not waited out', async () => {
    const f = answering(() => problem(409, 'API_KEY_LIMIT'));
    expect(await failure(client(f.fetch).keys.create(BODY, { idempotencyKey: 'mint-3' }))).to.include({ code: 'API_KEY_LIMIT' });
    expect(f.calls()).to.equal(1);
  });
});
