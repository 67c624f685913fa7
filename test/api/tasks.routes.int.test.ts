import { expect } from 'chai';
import { catalog } from '../../events';
import { NotFoundError } from '../../src/core/errors';
import { createEvent } from '../../src/core/envelope';
import { loneSurrogateIn } from '../../src/core/lone-surrogate';
import { ApprovalsService } from '../../src/agent/approvals-service';
import { handleCommand } from '../../src/domain/handle-command';
import { taskDecider } from '../../src/domain/task/task.decider';
import { makeHarness, type Harness } from './support/harness';

const STEP = { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] };
/** secp256k1's generator, compressed: a valid public key (of the private key 1). */
const G = '0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798';

describe('REST /v1/tasks', () => {
  let h: Harness;
  let k: Record<string, string>;

  before(async () => {
    h = await makeHarness();
    k = {
      admin: (await h.key('admin', 'acme')).auth,
      operator: (await h.key('operator', 'acme')).auth,
      agent: (await h.key('agent', 'acme')).auth,
      auditor: (await h.key('auditor', 'acme')).auth,
      viewer: (await h.key('viewer', 'acme')).auth,
      beta: (await h.key('operator', 'beta')).auth,
    };
  });
  after(() => h.close());

  const submit = async (auth = k.agent, body: unknown = STEP, headers: Record<string, string> = {}) =>
    h.call({ method: 'POST', url: '/v1/tasks', auth, payload: body as object, headers });

  describe('POST /v1/tasks', () => {
    it('appends TaskSubmitted with the actor and request id, and answers 202 {id, status}', async () => {
      const res = await submit(k.agent, { ...STEP, agentId: 'a1' }, { 'x-request-id': 'req-123' });
      expect(res.statusCode).to.equal(202);
      const { id, status } = res.json();
      expect(status).to.equal('submitted');
      expect(res.headers.location).to.equal(`/v1/tasks/${id}`);
      expect(res.headers['x-request-id']).to.equal('req-123');
      const [e] = await h.store.readStream(`task-${id}`);
      expect(e.type).to.equal('TaskSubmitted');
      expect(e.tenant).to.equal('acme');
      expect(e.actor.kind).to.equal('agent');
      expect(e.correlationId).to.equal('req-123');
      expect(e.data).to.deep.equal({ ...STEP, agentId: 'a1' });
    });

    it('is visible at GET /v1/tasks/:id right after the 202', async () => {
      const { id } = (await submit(k.operator, { instruction: 'say hi' })).json();
      const res = await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: k.viewer });
      expect(res.statusCode).to.equal(200);
      expect(res.json()).to.include({ id, tenant: 'acme', status: 'submitted', instruction: 'say hi' });
    });

    it('takes answerRecipient compressed or not, in either case, and records it compressed in lowercase (TaskSubmitted v2); v1 without it', async () => {
      const uncompressed = '0x0479BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8';
      for (const given of [G, G.toUpperCase().replace('0X', '0x'), uncompressed]) {
        const res = await submit(k.agent, { instruction: 'seal it', answerRecipient: given });
        expect(res.statusCode, given).to.equal(202);
        const [e] = await h.store.readStream(`task-${res.json().id}`);
        expect(e.version).to.equal(2);
        expect(e.data).to.deep.equal({ instruction: 'seal it', answerRecipient: G });
      }
      const [plain] = await h.store.readStream(`task-${(await submit(k.agent, { instruction: 'no seal' })).json().id}`);
      expect(plain.version).to.equal(1);
    });

    for (const [name, body, field] of [
      ['neither instruction nor steps', {}, 'body.instruction'],
      ['an unknown field', { ...STEP, admin: true }, 'body.admin'],
      ['steps of the wrong type', { steps: 'echo' }, 'body.steps'],
      ['a step without a tool', { steps: [{ arguments: {} }] }, 'body.steps.0.tool'],
      ['a negative chainId', { ...STEP, chainId: -1 }, 'body.chainId'],
      ['an answerRecipient that is not hex', { instruction: 'x', answerRecipient: 'my-key' }, 'body.answerRecipient'],
      ['an answerRecipient of the wrong length (a private key)', { instruction: 'x', answerRecipient: `0x${'11'.repeat(32)}` }, 'body.answerRecipient'],
      ['an answerRecipient that is no point of secp256k1', { instruction: 'x', answerRecipient: `0x02${'ff'.repeat(32)}` }, 'body.answerRecipient'],
      ['an answerRecipient on a task of steps only (it has no answer to seal)', { ...STEP, answerRecipient: G }, 'body.answerRecipient'],
    ] as const) {
      it(`400 VALIDATION_FAILED naming the field for ${name}; nothing appended`, async () => {
        const before = await h.store.headPosition();
        const res = await submit(k.agent, body);
        expect(res.statusCode).to.equal(400);
        expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
        expect(res.json()).to.include({ code: 'VALIDATION_FAILED', field });
        expect(await h.store.headPosition()).to.equal(before);
      });
    }

    it('400 for a float in step arguments (hashing needs safe integers) naming the field (was "$.data.steps[0]…", no field), nothing appended', async () => {
      const before = await h.store.headPosition();
      const res = await submit(k.agent, { steps: [{ tool: 'x__y', arguments: { n: 1 } }, { tool: 'x__y', arguments: { deep: [{ ok: 2 }, { n: 1.5 }] } }] });
      expect(res.statusCode).to.equal(400);
      expect(res.json()).to.include({ code: 'VALIDATION_FAILED', field: 'body.steps.1.arguments.deep.1.n' });
      expect(res.json().detail).to.equal('body.steps.1.arguments.deep.1.n: numbers must be safe integers (use a string for 1.5)');
      expect(await h.store.headPosition()).to.equal(before);
    });

    // JSON lets `\ud800` stand alone; RFC 8785 hashes UTF-8, which has no form for it, so an event holding it
    // had a hash only JavaScript reproduces (a Python or Go verifier fails on it): refused like a float.
    it('400 for a lone UTF-16 surrogate in the body naming the field (it was hashed into TaskSubmitted), nothing appended; a surrogate pair passes', async () => {
      const before = await h.store.headPosition();
      const res = await submit(k.agent, { steps: [{ tool: 'x__y', arguments: { text: 'broken \ud800 emoji' } }] });
      expect(res.statusCode).to.equal(400);
      expect(res.json()).to.include({ code: 'VALIDATION_FAILED', field: 'body.steps.0.arguments.text' });
      expect(res.json().detail).to.equal('body.steps.0.arguments.text: a lone UTF-16 surrogate (\\ud800) is not Unicode text, which event hashes need (RFC 8785)');
      // A key holding one is named with the surrogate written out: the answer stays Unicode text,
      // which a strict JSON parser (Rust's serde_json) reads; the surrogate itself it refuses.
      const key = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: { instruction: 'x', [`k\udc00 😀`]: 1 } });
      expect(key.json()).to.include({ code: 'VALIDATION_FAILED', field: 'body.k\\udc00 😀' });
      expect(loneSurrogateIn(key.json()), 'a lone surrogate in the answer').to.equal(undefined);
      expect(await h.store.headPosition()).to.equal(before);
      expect((await submit(k.agent, { steps: [{ tool: 'x__y', arguments: { text: 'emoji \ud83d\ude00' } }] })).statusCode).to.equal(202);
    });

    it('400 MALFORMED_JSON for a body naming a key twice in one object, where JSON parsers disagree on which counts (the last was run without a word); nothing appended', async () => {
      const before = await h.store.headPosition();
      const payload = '{"steps":[{"tool":"examples__echo","arguments":{"text":"first","text":"second"}}]}';
      const res = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload, headers: { 'content-type': 'application/json' } });
      expect(res.statusCode, res.body).to.equal(400);
      expect(res.json()).to.include({ code: 'MALFORMED_JSON', detail: 'body: names "text" twice in one object (the second at line 1, column 64); send each key once' });
      const top = await h.call({ method: 'POST', url: '/v1/keys', auth: k.admin, payload: '{"role":"viewer","tenant":"acme","role":"admin"}', headers: { 'content-type': 'application/json' } });
      expect([top.statusCode, top.json().code]).to.deep.equal([400, 'MALFORMED_JSON']);
      expect(await h.store.headPosition()).to.equal(before);
      // The same key in two objects is no duplicate.
      const two = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: '{"steps":[{"tool":"a__b","arguments":{"x":1}},{"tool":"a__b","arguments":{"x":2}}]}', headers: { 'content-type': 'application/json' } });
      expect(two.statusCode, two.body).to.equal(202);
    });

    it('400 MALFORMED_JSON, 415 for text/plain, 413 for oversize bodies', async () => {
      const bad = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: '{"steps":', headers: { 'content-type': 'application/json' } });
      expect(bad.statusCode).to.equal(400);
      expect(bad.json().code).to.equal('MALFORMED_JSON');
      const text = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: 'hi', headers: { 'content-type': 'text/plain' } });
      expect(text.statusCode).to.equal(415);
      expect(text.json().code).to.equal('UNSUPPORTED_MEDIA_TYPE');
      // The answer says what was sent and what the route takes (it said "Unsupported Media Type" alone).
      expect(text.json()).to.include({ field: 'headers.content-type', detail: 'headers.content-type: text/plain is not accepted; send the body as application/json' });
      const form = await h.call({ method: 'POST', url: '/v1/tasks', auth: k.agent, payload: 'a=1', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } });
      expect(form.json().detail).to.equal('headers.content-type: application/x-www-form-urlencoded is not accepted; send the body as application/json');
      const big = await submit(k.agent, { instruction: 'x'.repeat(1_100_000) });
      expect(big.statusCode).to.equal(413);
      expect(big.json().code).to.equal('PAYLOAD_TOO_LARGE');
      // The limit is named (it said "Request body is too large").
      expect(big.json()).to.include({ field: 'body', detail: 'body: over 1048576 bytes (1 MiB), the limit of a request body' });
    });

    it('401 without or with a bad key; 403 for viewer and auditor', async () => {
      expect((await submit('')).statusCode).to.equal(401);
      expect((await submit('Bearer omk_' + 'A'.repeat(43))).json().code).to.equal('UNAUTHENTICATED');
      expect((await submit('Basic abc')).statusCode).to.equal(401);
      for (const role of ['viewer', 'auditor']) {
        const res = await submit(k[role]);
        expect(res.statusCode, role).to.equal(403);
        expect(res.json().code).to.equal('FORBIDDEN');
        // Says which roles may, so the client knows what key to ask for.
        expect(res.json().detail).to.equal(`role ${role} lacks tasks:write (roles with it: admin, operator, agent)`);
      }
    });

    it('400 VALIDATION_FAILED naming body.chainId and the configured chain ids for a chainId CHAINS_FILE does not list; nothing appended; a listed one is taken', async () => {
      const h2 = await makeHarness({ taskChainIds: [31337, 11155111] });
      try {
        const auth = (await h2.key('agent', 'acme')).auth;
        const before = await h2.store.headPosition();
        const res = await h2.call({ method: 'POST', url: '/v1/tasks', auth, payload: { ...STEP, chainId: 5 } });
        expect(res.statusCode).to.equal(400);
        expect(res.json()).to.include({
          code: 'VALIDATION_FAILED',
          field: 'body.chainId',
          detail: 'body.chainId: chain 5 is not configured on this gateway (CHAINS_FILE lists 31337, 11155111)',
        });
        expect(await h2.store.headPosition()).to.equal(before);
        expect((await h2.call({ method: 'POST', url: '/v1/tasks', auth, payload: { ...STEP, chainId: 11155111 } })).statusCode).to.equal(202);
        expect((await h2.call({ method: 'POST', url: '/v1/tasks', auth, payload: STEP })).statusCode).to.equal(202);
      } finally {
        await h2.close();
      }
    });

    it('takes any chainId when no chain is configured (no CHAINS_FILE): a hint for the model and its MCP tools, recorded as given', async () => {
      const res = await submit(k.agent, { ...STEP, chainId: 5 });
      expect(res.statusCode).to.equal(202);
      const [e] = await h.store.readStream(`task-${res.json().id}`);
      expect(e.data).to.deep.include({ chainId: 5 });
    });
  });

  describe('GET /v1/tasks', () => {
    it('lists only the tenant\'s tasks, filtered by status and agent, with a cursor', async () => {
      await submit(k.agent, { ...STEP, agentId: 'pager' });
      await submit(k.agent, { ...STEP, agentId: 'pager' });
      await submit(k.agent, { ...STEP, agentId: 'pager' });
      await submit(k.beta, { ...STEP, agentId: 'pager' });
      const first = await h.call({ method: 'GET', url: '/v1/tasks?agentId=pager&limit=2&status=submitted', auth: k.viewer });
      expect(first.statusCode).to.equal(200);
      const p1 = first.json();
      expect(p1.items).to.have.length(2);
      expect(p1.nextCursor).to.be.a('string');
      const p2 = (await h.call({ method: 'GET', url: `/v1/tasks?agentId=pager&limit=2&cursor=${p1.nextCursor}`, auth: k.viewer })).json();
      expect(p2.items).to.have.length(1);
      const all = [...p1.items, ...p2.items];
      expect(new Set(all.map((t: { id: string }) => t.id)).size).to.equal(3);
      expect(all.every((t: { tenant: string }) => t.tenant === 'acme')).to.equal(true);
      const beta = (await h.call({ method: 'GET', url: '/v1/tasks?agentId=pager', auth: k.beta })).json();
      expect(beta.items).to.have.length(1);
    });

    it('400 for a bad status, limit, time or cursor, and for unknown query fields', async () => {
      for (const [q, field] of [
        ['status=done', 'querystring.status'],
        ['limit=0', 'querystring.limit'],
        ['limit=abc', 'querystring.limit'],
        ['from=yesterday', 'querystring.from'],
        ['cursor=%27%3B--', 'querystring.cursor'],
        ['tenant=beta', 'querystring.tenant'],
      ]) {
        const res = await h.call({ method: 'GET', url: `/v1/tasks?${q}`, auth: k.viewer });
        expect(res.statusCode, q).to.equal(400);
        expect(res.json().field, q).to.equal(field);
      }
      const forged = await h.call({ method: 'GET', url: '/v1/tasks?cursor=bm90LWEtY3Vyc29y', auth: k.viewer });
      expect(forged.statusCode).to.equal(400);
      expect(forged.json().field).to.equal('cursor');
      expect(forged.json().code).to.equal('INVALID_CURSOR');
      // Another list's cursor is refused the same way.
      const events = await h.call({ method: 'GET', url: '/v1/tasks?cursor=WyJldmVudHMiLDVd', auth: k.viewer });
      expect([events.statusCode, events.json().code]).to.deep.equal([400, 'INVALID_CURSOR']);
    });

    it('400 for a time that is not RFC 3339 names the form it takes (it said "Invalid ISO datetime")', async () => {
      for (const q of ['from=yesterday', 'to=2026-12-06', 'from=2026-12-06T23:00:00%2B0100', 'to=2026-12-06%2023:00:00Z']) {
        for (const list of ['/v1/tasks', '/v1/tool-calls']) {
          const res = await h.call({ method: 'GET', url: `${list}?${q}`, auth: k.viewer });
          const name = q.split('=')[0];
          expect(res.json(), `${list}?${q}`).to.include({ code: 'VALIDATION_FAILED', field: `querystring.${name}`, detail: `querystring.${name}: an RFC 3339 date-time with Z or an offset, such as 2026-12-06T23:00:00Z or 2026-12-07T00:00:00+01:00` });
        }
      }
    });

    it("400 for an offset whose '+' was not percent-encoded (a query string reads it as a space) says to write %2B (it showed +01:00 as the form to use)", async () => {
      for (const list of ['/v1/tasks', '/v1/tool-calls']) {
        for (const name of ['from', 'to']) {
          const res = await h.call({ method: 'GET', url: `${list}?${name}=2026-12-07T00:00:00+01:00`, auth: k.viewer });
          expect(res.statusCode, `${list} ${name}`).to.equal(400);
          expect(res.json(), `${list} ${name}`).to.include({
            code: 'VALIDATION_FAILED',
            field: `querystring.${name}`,
            detail: `querystring.${name}: 2026-12-07T00:00:00 01:00 has a space where its offset's + was: a + in a query string reads as a space, so percent-encode it, 2026-12-07T00:00:00%2B01:00 (or give the time in UTC, with Z)`,
          });
        }
        // Any fraction the form takes, and the hint only where its %2B form would be taken: a time
        // without seconds, an hour 25 or an offset of 25 hours were told to send what is refused too.
        const fraction = await h.call({ method: 'GET', url: `${list}?from=2026-12-07T00:00:00.1234567891+01:00`, auth: k.viewer });
        expect(fraction.json().detail, list).to.include('so percent-encode it, 2026-12-07T00:00:00.1234567891%2B01:00');
        for (const t of ['2026-12-07T00:00+01:00', '2026-12-07T25:00:00+01:00', '2026-12-07T00:00:00+25:00', '2026-02-30T00:00:00+01:00']) {
          const res = await h.call({ method: 'GET', url: `${list}?from=${t}`, auth: k.viewer });
          expect(res.json(), `${list} ${t}`).to.include({ code: 'VALIDATION_FAILED', field: 'querystring.from', detail: 'querystring.from: an RFC 3339 date-time with Z or an offset, such as 2026-12-06T23:00:00Z or 2026-12-07T00:00:00+01:00' });
        }
      }
    });

    it('400 for a from after to on the task and tool-call lists (an empty page said nothing of the swapped bounds); offsets are compared as instants', async () => {
      for (const list of ['/v1/tasks', '/v1/tool-calls']) {
        const swapped = await h.call({ method: 'GET', url: `${list}?from=2026-12-07T00:00:00Z&to=2026-12-06T00:00:00Z`, auth: k.viewer });
        expect(swapped.statusCode, list).to.equal(400);
        expect(swapped.json(), list).to.include({ code: 'VALIDATION_FAILED', field: 'querystring.from', detail: 'querystring.from: later than to, so nothing can match (both bounds are inclusive)' });
        // 01:00+02:00 is 23:00 the day before: not after 00:00Z.
        const offsets = await h.call({ method: 'GET', url: `${list}?from=2026-12-06T01:00:00%2B02:00&to=2026-12-06T00:00:00Z`, auth: k.viewer });
        expect(offsets.statusCode, list).to.equal(200);
        const same = await h.call({ method: 'GET', url: `${list}?from=2026-12-06T00:00:00Z&to=2026-12-06T00:00:00Z`, auth: k.viewer });
        expect(same.statusCode, list).to.equal(200);
      }
    });

    it('401 without a key', async () => {
      expect((await h.call({ method: 'GET', url: '/v1/tasks' })).statusCode).to.equal(401);
    });
  });

  describe('GET /v1/tasks/:id and /events', () => {
    let id: string;
    before(async () => {
      id = (await submit(k.agent)).json().id;
    });

    it('shows the task with its steps', async () => {
      const res = await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: k.viewer });
      expect(res.statusCode).to.equal(200);
      expect(res.json().steps[0]).to.include({ index: 0, tool: 'examples__echo', status: 'pending' });
    });

    it('400 for a bad id, 404 for an unknown one, 404 for another tenant', async () => {
      expect((await h.call({ method: 'GET', url: '/v1/tasks/..%2F..%2Fetc%2Fpasswd', auth: k.viewer })).json().field).to.equal('params.id');
      const unknown = await h.call({ method: 'GET', url: '/v1/tasks/01900000-0000-7000-8000-000000000000', auth: k.viewer });
      expect(unknown.statusCode).to.equal(404);
      expect(unknown.json().code).to.equal('NOT_FOUND');
      expect((await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: k.beta })).statusCode).to.equal(404);
    });

    it('takes an id in upper case as the same id (UUIDs are case-insensitive on input, RFC 9562; Swift and some tools write them so): it answered 404 for the existing task', async () => {
      const upper = id.toUpperCase();
      const task = await h.call({ method: 'GET', url: `/v1/tasks/${upper}`, auth: k.viewer });
      expect(task.statusCode, task.body).to.equal(200);
      expect(task.json().id).to.equal(id);
      const trail = await h.call({ method: 'GET', url: `/v1/tasks/${upper}/events`, auth: k.auditor });
      expect(trail.statusCode, trail.body).to.equal(200);
      const event = trail.json().items[0];
      expect((await h.call({ method: 'GET', url: `/v1/events/${event.id.toUpperCase()}`, auth: k.auditor })).json().id).to.equal(event.id);
      const calls = await h.call({ method: 'GET', url: `/v1/tool-calls?taskId=${upper}`, auth: k.viewer });
      expect(calls.statusCode, calls.body).to.equal(200);
      expect((await h.call({ method: 'GET', url: `/v1/tasks/${upper}`, auth: k.beta })).statusCode).to.equal(404);
      // A command too: the cancel is recorded on the task's own stream, not on a new one.
      const other = (await submit(k.agent)).json().id as string;
      const cancel = await h.call({ method: 'POST', url: `/v1/tasks/${other.toUpperCase()}/cancel`, auth: k.operator, payload: {} });
      expect(cancel.statusCode, cancel.body).to.equal(202);
      expect(cancel.json().id).to.equal(other);
      expect((await h.store.readStream(`task-${other}`)).map((e) => e.type)).to.include('TaskCancelled');
    });

    it('GET /v1/tasks/:id/events is the audit trail; viewer and agent denied; other tenant 404', async () => {
      const res = await h.call({ method: 'GET', url: `/v1/tasks/${id}/events`, auth: k.auditor });
      expect(res.statusCode).to.equal(200);
      expect(res.json().items.map((e: { type: string }) => e.type)).to.deep.equal(['TaskSubmitted']);
      expect((await h.call({ method: 'GET', url: `/v1/tasks/${id}/events`, auth: k.viewer })).statusCode).to.equal(403);
      expect((await h.call({ method: 'GET', url: `/v1/tasks/${id}/events`, auth: k.agent })).statusCode).to.equal(403);
      expect((await h.call({ method: 'GET', url: `/v1/tasks/${id}/events`, auth: k.beta })).statusCode).to.equal(404);
      expect((await h.call({ method: 'GET', url: `/v1/tasks/${id}/events?after=x`, auth: k.auditor })).statusCode).to.equal(400);
      expect((await h.call({ method: 'GET', url: `/v1/tasks/${id}/events?cursor=abc`, auth: k.auditor })).json().code).to.equal('INVALID_CURSOR');
    });
  });

  describe('POST /v1/tasks/:id/cancel', () => {
    it('cancels; other tenant 404 and nothing appended; viewer 403', async () => {
      const { id } = (await submit(k.agent)).json();
      const before = await h.store.headPosition();
      const foreign = await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: k.beta, payload: {} });
      expect(foreign.statusCode).to.equal(404);
      expect(await h.store.headPosition()).to.equal(before);
      expect((await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: k.viewer, payload: {} })).statusCode).to.equal(403);
      const ok = await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: k.operator, payload: { reason: 'test' } });
      expect(ok.statusCode).to.equal(202);
      expect(ok.json()).to.deep.equal({ id, status: 'cancelled' });
      expect(ok.headers['idempotent-replayed']).to.equal(undefined);
      expect((await h.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: k.viewer })).json().status).to.equal('cancelled');
    });

    it('a repeated cancel (a client retrying) answers 202 cancelled again, Idempotent-Replayed, and appends nothing', async () => {
      const { id } = (await submit(k.agent)).json();
      const first = await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: k.operator, payload: { reason: 'first' } });
      expect(first.statusCode).to.equal(202);
      const before = await h.store.headPosition();
      for (const payload of [undefined, {}, { reason: 'second' }]) {
        const again = await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: k.operator, ...(payload ? { payload } : {}) });
        expect(again.statusCode, JSON.stringify(payload)).to.equal(202);
        expect(again.json()).to.deep.equal({ id, status: 'cancelled' });
        expect(again.headers['idempotent-replayed']).to.equal('true');
      }
      expect(await h.store.headPosition()).to.equal(before);
      const events = await h.store.readStream(`task-${id}`);
      expect(events.filter((e) => e.type === 'TaskCancelled').map((e) => e.data)).to.deep.equal([{ reason: 'first' }]);
      // Still hidden from another tenant, and still only for roles that may cancel.
      expect((await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: k.beta, payload: {} })).statusCode).to.equal(404);
      expect((await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: k.viewer, payload: {} })).statusCode).to.equal(403);
    });

    it('concurrent cancels of one task: every one answers 202 cancelled, one TaskCancelled is recorded', async () => {
      const { id } = (await submit(k.agent)).json();
      const answers = await Promise.all(Array.from({ length: 4 }, () => h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: k.operator, payload: {} })));
      expect(answers.map((r) => [r.statusCode, r.json().status])).to.deep.equal(Array(4).fill([202, 'cancelled']));
      expect(answers.filter((r) => r.headers['idempotent-replayed'] === 'true')).to.have.length(3);
      expect((await h.store.readStream(`task-${id}`)).filter((e) => e.type === 'TaskCancelled')).to.have.length(1);
    });

    for (const [end, command] of [
      ['completed', { type: 'CompleteTask', output: { text: 'hi' } }],
      ['failed', { type: 'FailTask', error: { code: 'X', message: 'boom' } }],
    ] as const) {
      it(`409 INVALID_TRANSITION naming the state for a task that ${end} (it did not end by a cancel); nothing appended`, async () => {
        const { id } = (await submit(k.agent)).json();
        const meta = { tenant: 'acme', actor: { kind: 'agent' as const, id: 'w' } };
        await handleCommand({ store: h.store, catalog }, { decider: taskDecider, stream: `task-${id}`, command: { type: 'StartTask' }, metadata: meta });
        await handleCommand({ store: h.store, catalog }, { decider: taskDecider, stream: `task-${id}`, command, metadata: meta });
        const before = await h.store.headPosition();
        const res = await h.call({ method: 'POST', url: `/v1/tasks/${id}/cancel`, auth: k.operator, payload: {} });
        expect(res.statusCode).to.equal(409);
        expect(res.json()).to.include({ code: 'INVALID_TRANSITION' });
        expect(res.json().detail ?? res.json().message ?? '').to.contain(end);
        // Says why, in the client's words (was: "task in state completed cannot CancelTask").
        expect(res.json().detail).to.equal(`the task is ${end} already: only a submitted or running task can be cancelled`);
        expect(await h.store.headPosition()).to.equal(before);
      });
    }

    it('404 for an unknown task, 400 for unknown body fields', async () => {
      const res = await h.call({ method: 'POST', url: '/v1/tasks/01900000-0000-7000-8000-000000000000/cancel', auth: k.operator, payload: {} });
      expect(res.statusCode).to.equal(404);
      const bad = await h.call({ method: 'POST', url: '/v1/tasks/01900000-0000-7000-8000-000000000000/cancel', auth: k.operator, payload: { why: 1 } });
      expect(bad.json().field).to.equal('body.why');
    });
  });

  describe('POST /v1/tasks/:id/approvals', () => {
    const body = { proposalHash: `0x${'1'.repeat(64)}`, decision: 'approve' };

    it('501 NOT_IMPLEMENTED while no approvals service is wired; agent denied; bad hash 400', async () => {
      const { id } = (await submit(k.agent)).json();
      const res = await h.call({ method: 'POST', url: `/v1/tasks/${id}/approvals`, auth: k.operator, payload: body });
      expect(res.statusCode).to.equal(501);
      expect(res.json().code).to.equal('NOT_IMPLEMENTED');
      expect((await h.call({ method: 'POST', url: `/v1/tasks/${id}/approvals`, auth: k.agent, payload: body })).statusCode).to.equal(403);
      const bad = await h.call({ method: 'POST', url: `/v1/tasks/${id}/approvals`, auth: k.operator, payload: { ...body, proposalHash: '0x12' } });
      expect(bad.json().field).to.equal('body.proposalHash');
    });

    it('four-eyes through REST (ApprovalRequested v2 needing 2 approvers, not the submitter): 403 for the submitter, 202 pending 1 of 2, a repeat counts once, the second approver releases it', async () => {
      let service: ApprovalsService | undefined;
      const h2 = await makeHarness({ approvals: { decide: (p) => service!.decide(p) } });
      service = new ApprovalsService({ store: h2.store, catalog });
      try {
        const submitter = await h2.key('operator', 'acme');
        const first = (await h2.key('admin', 'acme')).auth;
        const second = (await h2.key('operator', 'acme')).auth;
        const { id } = (await h2.call({ method: 'POST', url: '/v1/tasks', auth: submitter.auth, payload: STEP })).json();
        const stream = `task-${id}`;
        const [submitted] = await h2.store.readStream(stream);
        const worker = { tenant: 'acme', actor: { kind: 'agent' as const, id: 'worker-1' } };
        const started = await handleCommand({ store: h2.store, catalog }, { decider: taskDecider, stream, command: { type: 'StartTask' }, metadata: worker });
        const proposalHash = `0x${'c'.repeat(64)}`;
        const request = createEvent({
          type: 'ApprovalRequested', version: 2, stream, tenant: 'acme', actor: worker.actor,
          data: catalog.validate('ApprovalRequested', 2, { stepId: 'turn-1-x', proposalHash, proposalJson: '{}', rule: 'method.approvalAbove', approvals: { required: 2, selfApproval: false, requestedBy: submitted.actor } }),
        });
        await h2.store.append(stream, [request], { expectedRevision: started.nextExpectedRevision });
        const decide = (auth: string, decision = 'approve') => h2.call({ method: 'POST', url: `/v1/tasks/${id}/approvals`, auth, payload: { proposalHash, decision } });

        const self = await decide(submitter.auth);
        expect(self.statusCode).to.equal(403);
        expect(self.json().code).to.equal('APPROVAL_SELF_NOT_ALLOWED');
        const one = await decide(first);
        expect(one.statusCode).to.equal(202);
        expect(one.json()).to.deep.include({ status: 'pending', approvals: { given: 1, required: 2 } });
        // The task shows what waits and what to approve (was: only its events did).
        const shown = (await h2.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: first })).json();
        expect(shown.awaitingApproval).to.deep.equal([{ proposalHash, stepId: 'turn-1-x', rule: 'method.approvalAbove', requestedAt: request.occurredAt, approvals: { required: 2, given: 1, selfApproval: false } }]);
        const head = await h2.store.headPosition();
        expect((await decide(first)).json()).to.deep.include({ status: 'pending', approvals: { given: 1, required: 2 } });
        expect(await h2.store.headPosition()).to.equal(head);
        const two = await decide(second);
        expect(two.json()).to.deep.include({ status: 'approved', approvals: { given: 2, required: 2 } });
        expect((await h2.call({ method: 'GET', url: `/v1/tasks/${id}`, auth: first })).json()).to.not.have.property('awaitingApproval');
        const types = (await h2.store.readStream(stream)).map((e) => e.type);
        expect(types.slice(-3)).to.deep.equal(['ApprovalGiven', 'ApprovalGiven', 'ApprovalGranted']);
        expect((await decide(first, 'reject')).json().code).to.equal('APPROVAL_ALREADY_DECIDED');
      } finally {
        await h2.close();
      }
    });

    it('passes tenant, actor and request id to the approvals service', async () => {
      const seen: unknown[] = [];
      const h2 = await makeHarness({
        approvals: {
          decide: async (p) => {
            seen.push(p);
            if (p.tenant !== 'acme') throw new NotFoundError('task', p.taskId);
            return { taskId: p.taskId, proposalHash: p.proposalHash, decision: p.decision };
          },
        },
      });
      try {
        const op = (await h2.key('operator', 'acme')).auth;
        const id = '01900000-0000-7000-8000-000000000001';
        const res = await h2.call({ method: 'POST', url: `/v1/tasks/${id}/approvals`, auth: op, payload: body, headers: { 'x-request-id': 'r-9' } });
        expect(res.statusCode).to.equal(202);
        expect(seen[0]).to.deep.include({ tenant: 'acme', taskId: id, correlationId: 'r-9', decision: 'approve' });
        const other = await h2.call({ method: 'POST', url: `/v1/tasks/${id}/approvals`, auth: (await h2.key('operator', 'beta')).auth, payload: body });
        expect(other.statusCode).to.equal(404);
      } finally {
        await h2.close();
      }
    });
  });
});
