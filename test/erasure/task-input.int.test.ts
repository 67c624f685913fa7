import { expect } from 'chai';
import { canonicalJson } from '../../src/core/canonical';
import { computeEventHash } from '../../src/core/envelope';
import { sha256Utf8Hex } from '../../src/core/hash';
import { MemorySubjectKeyStore } from '../../src/erasure/memory-subject-key-store';
import { catalog } from '../../events';
import { PAYLOAD_HASH_SCHEME, saltedPayloadHash } from '../../src/erasure/salted-hash';
import { makeHarness, type Harness } from '../api/support/harness';
import { until } from '../mcp/support/until';
import { runTasksShow } from '../../src/cli/tasks';
import { clientFromEnvironment } from '../../src/sdk/from-env';

const MARKER = 'task-input-marker-0815';

/**
 * MCP_PAYLOAD_POLICY=encrypted for a task's input: POST /v1/tasks records the instruction and the
 * steps' arguments sealed under the submitter's key, their hashes salted (TaskSubmitted v4), the read model keeps them
 * sealed, GET opens them, and after erasure shows them erased while the events stay byte-identical.
 */
describe('crypto-erasure of task inputs (TaskSubmitted v4)', function () {
  this.timeout(30_000);
  let h: Harness;
  let admin: string;
  let submitter: { auth: string; id: string };
  const subjectKeys = new MemorySubjectKeyStore();

  before(async () => {
    h = await makeHarness({ subjectKeys, sealTaskInputs: true });
    admin = (await h.key('admin', 'acme')).auth;
    submitter = await h.key('operator', 'acme');
  });
  after(() => h?.close());

  const body = (tag: string) => ({ instruction: `${MARKER}-${tag} pay Alice`, steps: [{ tool: 'remote__echo', arguments: { text: `${MARKER}-${tag}-arg` } }] });
  const post = (payload: Record<string, unknown>, key?: string) =>
    h.call({ method: 'POST', url: '/v1/tasks', auth: submitter.auth, payload, ...(key ? { headers: { 'idempotency-key': key } } : {}) });
  const shown = async (id: string) => {
    const res = await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: admin });
    expect(res.statusCode, res.body).to.equal(200);
    return res.json();
  };
  const streamOf = async (id: string) => (await h.store.readAll({ limit: 10_000 })).filter((e) => e.stream === `task-${id}`);

  it('records no plaintext in TaskSubmitted or the tasks read model; GET opens the input with the submitter key', async () => {
    const res = await post(body('a'));
    expect(res.statusCode, res.body).to.equal(202);
    const { id } = res.json();
    const [submitted] = await streamOf(id);
    expect([submitted.type, submitted.version]).to.deep.equal(['TaskSubmitted', 4]);
    const data = submitted.data as Record<string, any>;
    expect(data).to.not.have.property('instruction');
    // Salted: not the plain SHA-256, which would confirm a guess once the key is erased.
    expect(data).to.include({ instructionHashScheme: PAYLOAD_HASH_SCHEME });
    expect(data.instructionHash).to.match(/^0x[0-9a-f]{64}$/).and.not.equal(sha256Utf8Hex(canonicalJson(`${MARKER}-a pay Alice`)));
    expect(data.instructionSealed.alg).to.equal('A256GCM');
    expect(data.steps[0]).to.include({ tool: 'remote__echo', argumentsHashScheme: PAYLOAD_HASH_SCHEME });
    expect(data.steps[0].argumentsHash).to.not.equal(sha256Utf8Hex(canonicalJson({ text: `${MARKER}-a-arg` })));
    expect(data.steps[0]).to.not.have.property('arguments');
    expect(() => catalog.validate('TaskSubmitted', 4, data)).to.not.throw();
    const bodies = (await h.knex('events').select('body')).map((r: { body: string }) => r.body).join('\n');
    expect(bodies).to.not.contain(MARKER);
    await until('the read model shows the task', async () => (await h.knex('rm_tasks').where({ id })).length === 1);
    expect(JSON.stringify(await h.knex('rm_tasks').select())).to.not.contain(MARKER);
    expect(JSON.stringify(await h.knex('rm_task_steps').select())).to.not.contain(MARKER);

    const view = await shown(id);
    expect(view.instruction).to.equal(`${MARKER}-a pay Alice`);
    expect(view.steps[0].arguments).to.deep.equal({ text: `${MARKER}-a-arg` });
    // What the API shows matches the event's hashes, with the salts only the sealed input holds.
    expect(view).to.include({ instructionHashScheme: PAYLOAD_HASH_SCHEME, instructionHash: data.instructionHash });
    expect(saltedPayloadHash(view.instructionSalt, canonicalJson(view.instruction))).to.equal(data.instructionHash);
    expect(saltedPayloadHash(view.steps[0].argumentsSalt, canonicalJson(view.steps[0].arguments))).to.equal(data.steps[0].argumentsHash);
    expect(view).to.not.have.any.keys('instructionSealed', 'instructionErased');
    expect(view.steps[0]).to.not.have.any.keys('argumentsSealed', 'argumentsErased');
    const listed = (await h.call({ method: 'GET', url: '/v1/tasks', auth: admin })).json().items.find((t: { id: string }) => t.id === id);
    expect(listed.instruction).to.equal(`${MARKER}-a pay Alice`);
  });

  it('an Idempotency-Key retry with the same body is the same task (compared over the plaintext); another body is 422', async () => {
    const first = await post(body('b'), 'idem-1');
    expect(first.statusCode, first.body).to.equal(202);
    const again = await post(body('b'), 'idem-1');
    expect(again.statusCode, again.body).to.equal(202);
    expect(again.headers['idempotent-replayed']).to.equal('true');
    expect(again.json().id).to.equal(first.json().id);
    const other = await post(body('c'), 'idem-1');
    expect(other.statusCode, other.body).to.equal(422);
    expect(other.json()).to.include({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect(await streamOf(first.json().id)).to.have.length(1);
  });

  it('an Idempotency-Key retry after the submitter was erased cannot be compared (nothing confirms the input): 422 saying so, nothing appended', async () => {
    const someone = await h.key('operator', 'acme');
    const postAs = (payload: Record<string, unknown>) => h.call({ method: 'POST', url: '/v1/tasks', auth: someone.auth, payload, headers: { 'idempotency-key': 'idem-erased' } });
    const first = await postAs(body('e'));
    expect(first.statusCode, first.body).to.equal(202);
    expect((await h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(`acme:user:${someone.id}`)}/key`, auth: admin })).statusCode).to.equal(204);
    for (const tag of ['e', 'f']) {
      const again = await postAs(body(tag));
      expect(again.statusCode, again.body).to.equal(422);
      expect(again.json()).to.include({ code: 'IDEMPOTENCY_KEY_REUSED', field: 'headers.idempotency-key' });
      expect(again.json().detail).to.contain("can no longer be opened (the submitter's key was erased)");
    }
    expect(await streamOf(first.json().id)).to.have.length(1);
  });

  it('after DELETE /v1/subjects/:subject/key shows the input erased (not an error); the events stay byte-identical, their hashes valid', async () => {
    const { id } = (await post(body('d'))).json();
    const before = JSON.stringify(await streamOf(id));
    const del = await h.call({ method: 'DELETE', url: `/v1/subjects/${encodeURIComponent(`acme:user:${submitter.id}`)}/key`, auth: admin });
    expect(del.statusCode, del.body).to.equal(204);

    const view = await shown(id);
    const [submitted] = await streamOf(id);
    expect(view).to.include({ instructionErased: true, instructionHash: (submitted.data as { instructionHash: string }).instructionHash });
    expect(view.instructionHash).to.not.equal(sha256Utf8Hex(canonicalJson(`${MARKER}-d pay Alice`)));
    // The scheme stays named (the event names it), so nobody takes the hash for a plain SHA-256; the salt is gone with the key.
    expect(view).to.include({ instructionHashScheme: PAYLOAD_HASH_SCHEME });
    expect(view).to.not.have.any.keys('instruction', 'instructionSealed', 'instructionSalt');
    expect(view.steps[0]).to.include({ tool: 'remote__echo', argumentsErased: true });
    expect(view.steps[0]).to.not.have.any.keys('arguments', 'argumentsSealed');
    const after = await streamOf(id);
    expect(JSON.stringify(after)).to.equal(before);
    for (const e of after) expect(computeEventHash(e)).to.equal(e.hash);

    // The SDK and `openmcp tasks show` read the same marker.
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const client = clientFromEnvironment({ env: { OPENMCP_URL: url, OPENMCP_API_KEY: admin.slice('Bearer '.length) } });
    expect(await client.tasks.get(id)).to.include({ instructionErased: true });
    const lines: string[] = [];
    expect(await runTasksShow(client, id, {}, (l) => void lines.push(l))).to.equal(0);
    expect(lines).to.include(`instruction: erased (recorded encrypted; the submitter's key was deleted): only its hash ${view.instructionHash}`);
    expect(lines.join('\n')).to.not.contain(MARKER);
  });
});
