import { expect } from 'chai';
import { ConflictApiError, ConnectionError, OpenMcpClient } from '../../src/sdk';
import { makeHarness, type Harness } from '../api/support/harness';

/**
 * The case Idempotency-Key exists for: the server made the task, but its answer was lost (a
 * timeout, a dropped connection). A fetch that throws after the real exchange plays that part.
 */
describe('SDK tasks.submit with an idempotency key over a connection that loses the answer', function () {
  this.timeout(30_000);
  let h: Harness;
  let baseUrl: string;
  let apiKey: string;

  before(async () => {
    h = await makeHarness();
    baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
    apiKey = (await h.key('agent', 'acme')).key;
  });
  after(() => h.close());

  function losingFirstAnswer(): { fetch: typeof fetch; posts: () => number } {
    let posts = 0;
    const f: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      if (init?.method === 'POST' && ++posts === 1) {
        await res.body?.cancel();
        throw new TypeError('fetch failed (connection reset after the server answered)');
      }
      return res;
    };
    return { fetch: f, posts: () => posts };
  }

  const submitted = async () => (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'TaskSubmitted').length;

  it('is retried and answers the one task the lost attempt made', async () => {
    const lossy = losingFirstAnswer();
    const client = new OpenMcpClient({ baseUrl, apiKey, fetch: lossy.fetch, maxRetryDelayMs: 20 });
    const before = await submitted();
    const { id, status } = await client.tasks.submit({ steps: [{ tool: 'examples__echo', arguments: { text: 'once' } }] }, { idempotencyKey: 'sdk-order-1' });
    expect(lossy.posts()).to.equal(2);
    expect(status).to.equal('submitted');
    expect(await submitted()).to.equal(before + 1);
    expect((await client.tasks.get(id)).steps[0].arguments).to.deep.equal({ text: 'once' });
  });

  it('without a key a lost answer is not retried (it could make a second task): ConnectionError', async () => {
    const lossy = losingFirstAnswer();
    const client = new OpenMcpClient({ baseUrl, apiKey, fetch: lossy.fetch, maxRetryDelayMs: 20 });
    const err = await client.tasks.submit({ instruction: 'x' }).catch((e) => e);
    expect(err).to.be.instanceOf(ConnectionError);
    expect(lossy.posts()).to.equal(1);
  });

  it('keys.create with a key: a lost answer is retried and issues no second key; the retry names the key issued (ConflictApiError API_KEY_ALREADY_ISSUED, keyId), never its secret', async () => {
    const admin = (await h.key('admin', 'acme')).key;
    const lossy = losingFirstAnswer();
    const client = new OpenMcpClient({ baseUrl, apiKey: admin, fetch: lossy.fetch, maxRetryDelayMs: 20 });
    const created = async () => (await h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'ApiKeyCreated').map((e) => (e.data as { keyId: string }).keyId);
    const before = await created();
    const err = await client.keys.create({ role: 'viewer', tenant: 'acme' }, { idempotencyKey: 'sdk-key-1' }).catch((e) => e);
    expect(lossy.posts()).to.equal(2);
    const issued = (await created()).filter((id) => !before.includes(id));
    expect(issued).to.have.length(1);
    expect(err).to.be.instanceOf(ConflictApiError);
    expect(err.code).to.equal('API_KEY_ALREADY_ISSUED');
    expect(err.problem.keyId).to.equal(issued[0]);
  });

  it('tasks.cancel is idempotent on the server, so a lost answer is retried and answers cancelled, with one TaskCancelled', async () => {
    const { id } = await new OpenMcpClient({ baseUrl, apiKey }).tasks.submit({ instruction: 'to be cancelled' });
    const lossy = losingFirstAnswer();
    const client = new OpenMcpClient({ baseUrl, apiKey, fetch: lossy.fetch, maxRetryDelayMs: 20 });
    expect((await client.tasks.cancel(id, 'stop')).status).to.equal('cancelled');
    expect(lossy.posts()).to.equal(2);
    expect((await h.store.readStream(`task-${id}`)).filter((e) => e.type === 'TaskCancelled')).to.have.length(1);
  });
});
