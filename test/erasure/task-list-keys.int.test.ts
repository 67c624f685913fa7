import { expect } from 'chai';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { cachedSubjectKeys } from '../../src/erasure/cached-subject-keys';
import { makeHarness, type Harness } from '../api/support/harness';
import { until } from '../mcp/support/until';

/**
 * GET /v1/tasks opens every listed task's sealed input (TaskSubmitted v3): a page of one
 * subject's tasks looks its key up once, not once per instruction and step argument — the key
 * cache shares reads asked together and remembers an erased key as erased.
 */
describe('GET /v1/tasks: sealed inputs opened with one key lookup per key per page', function () {
  this.timeout(30_000);
  let h: Harness;
  let admin: string;
  let submitter: { auth: string; id: string };
  const inner = new MemorySubjectKeyStore();
  let lookups = 0;
  // Cached as src/main.ts has it; the lookups counted are the store's below the cache.
  const subjectKeys = cachedSubjectKeys({
    keyFor: (s) => inner.keyFor(s),
    keyById: (kid) => {
      lookups++;
      return inner.keyById(kid);
    },
    erase: (s) => inner.erase(s),
    keysOf: (s) => inner.keysOf(s),
  });

  before(async () => {
    h = await makeHarness({ subjectKeys, sealTaskInputs: true });
    admin = (await h.key('admin', 'acme')).auth;
    submitter = await h.key('operator', 'acme');
    for (const n of [1, 2, 3]) {
      const payload = { instruction: `list ${n}`, steps: [{ tool: 'remote__echo', arguments: { n } }, { tool: 'remote__echo', arguments: { m: n } }] };
      const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: submitter.auth, payload });
      expect(res.statusCode, res.body).to.equal(202);
    }
    await until('the read model lists the tasks', async () => (await h.knex('rm_tasks').count({ n: '*' }))[0].n === 3);
  });
  after(() => h?.close());

  const list = async () => {
    lookups = 0;
    const res = await h.call({ method: 'GET', url: '/v1/tasks?limit=10', auth: admin });
    expect(res.statusCode, res.body).to.equal(200);
    return res.json().items as { instruction?: string; instructionErased?: true; steps: { arguments?: unknown; argumentsErased?: true }[] }[];
  };

  it('opens nine sealed fields of one subject with one lookup', async () => {
    const items = await list();
    expect(items.map((t) => t.instruction).sort()).to.deep.equal(['list 1', 'list 2', 'list 3']);
    expect(items.flatMap((t) => t.steps.map((s) => s.arguments))).to.have.length(6);
    expect(lookups).to.equal(1);
  });

  it('after erasure, shows them erased with one lookup too', async () => {
    await subjectKeys.erase(`acme:user:${submitter.id}`);
    const items = await list();
    expect(items.every((t) => t.instructionErased && t.steps.every((s) => s.argumentsErased))).to.equal(true);
    expect(lookups).to.equal(1);
  });
});
