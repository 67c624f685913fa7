import { expect } from 'chai';
import type { OpenMcpClient } from '../../src/sdk/client';
import { ForbiddenApiError, NotFoundApiError, RateLimitedApiError, ValidationApiError } from '../../src/sdk/errors';
import { pages } from '../../src/sdk/pages';
import { exportSubject } from '../../src/sdk/subject-export';

const event = (position: number, stream: string, actorId: string, data: Record<string, unknown> = {}) => ({
  id: `e${position}`, type: 'ToolCallRequested', version: 2, stream, revision: 0, position, occurredAt: '2026-12-07T00:00:00.000Z',
  tenant: 'acme', actor: { kind: 'agent', id: actorId }, data, hash: `0x${'0'.repeat(64)}`,
});

describe('exportSubject', () => {
  it('waits out 429s past the SDK\'s own retries (Retry-After) and asks again, so a busy subject\'s export does not stop halfway', async () => {
    let refusals = 2;
    const waits: number[] = [];
    const client = {
      // What the server's subject index answers: its own call, and one sealed under its key.
      subjects: {
        show: async () => ({ subject: 'acme:agent:a1', keys: [{ kid: 'k1', createdAt: '2026-12-07T00:00:00.000Z' }] }),
        events: async () => ({ items: [event(1, 'toolcall-c1', 'a1'), event(2, 'toolcall-c2', 'worker', { argumentsSealed: { alg: 'A256GCM', kid: 'k1', iv: '0x00', ct: '0x00', tag: '0x00' } })] }),
      },
      events: { list: async () => { throw new Error('the whole log is not read'); } },
      tasks: { get: async () => { throw new Error('no tasks here'); }, events: async () => ({ items: [] }) },
      toolCalls: {
        get: async (id: string) => {
          if (refusals-- > 0) throw new RateLimitedApiError({ type: 'about:blank', title: 'Too Many Requests', status: 429, code: 'RATE_LIMITED', retryAfterSeconds: 7 });
          return { id };
        },
      },
    } as unknown as OpenMcpClient;
    const x = await exportSubject(client, 'acme:agent:a1', { sleep: async (ms) => void waits.push(ms), now: () => new Date('2026-12-07T01:00:00.000Z') });
    expect(waits).to.deep.equal([7000, 7000]);
    expect(x.toolCalls).to.deep.equal([{ id: 'c1' }, { id: 'c2' }]);
    expect(x.events.map((e) => e.id)).to.deep.equal(['e1', 'e2']);
    expect(x.exportedAt).to.equal('2026-12-07T01:00:00.000Z');
  });
});

describe('exportSubject: pages', () => {
  const tooMany = () => new RateLimitedApiError({ type: 'about:blank', title: 'Too Many Requests', status: 429, code: 'RATE_LIMITED', retryAfterSeconds: 30 });
  /** Pages of two, the second and the task trail's first refused 429 once each (the SDK's own retries spent), as the real client pages them. */
  function client() {
    const log = [event(1, 'task-t1', 'a1'), event(3, 'toolcall-c1', 'a1'), event(5, 'toolcall-c2', 'a1')];
    const refuse = new Set(['subject:2', 'trail:0']);
    const page = <T>(what: string, items: T[], cursor?: string) => {
      const at = Number(cursor ?? 0);
      if (refuse.delete(`${what}:${at}`)) throw tooMany();
      return { items: items.slice(at, at + 2), ...(at + 2 < items.length ? { nextCursor: String(at + 2) } : {}) };
    };
    const c = {
      subjects: {
        show: async () => ({ subject: 'acme:agent:a1', keys: [] }),
        events: async (_subject: string, q: { cursor?: string } = {}) => page('subject', log, q.cursor),
      },
      tasks: {
        get: async (id: string) => ({ id, steps: [] }),
        events: async (_id: string, q: { cursor?: string } = {}) => page('trail', [event(1, 'task-t1', 'a1'), event(4, 'task-t1', 'worker')], q.cursor),
        allEvents: (id: string, q = {}) => pages(() => c.tasks.events(id, q), (cursor) => c.tasks.events(id, { ...q, cursor })),
      },
      toolCalls: { get: async (id: string) => ({ id }) },
    };
    return { client: c as unknown as OpenMcpClient, refused: () => refuse.size };
  }

  it("waits out a 429 on a page of the subject's events or of a task trail and reads on from that page: the export is whole", async () => {
    const c = client();
    const waits: number[] = [];
    const x = await exportSubject(c.client, 'acme:agent:a1', { sleep: async (ms) => void waits.push(ms) });
    expect(c.refused()).to.equal(0);
    expect(waits).to.deep.equal([30_000, 30_000]);
    expect(x.events.map((e) => e.id)).to.deep.equal(['e1', 'e3', 'e4', 'e5']);
    expect(x.tasks.map((t) => t.id)).to.deep.equal(['t1']);
    expect(x.toolCalls).to.deep.equal([{ id: 'c1' }, { id: 'c2' }]);
  });
});

const noRoute = () => new NotFoundApiError({ type: 'about:blank', title: 'Not Found', status: 404, code: 'ROUTE_NOT_FOUND' });

describe('exportSubject: a server without the subject index (before 2026-12-11)', () => {
  it("reads the whole log instead, keeping what the index lists; a cross-tenant key sees every tenant's events: the same actor id in another tenant is another subject, left out", async () => {
    const theirs = { ...event(2, 'toolcall-b1', 'a1'), tenant: 'beta' };
    const client = {
      subjects: { show: async () => ({ subject: 'acme:agent:a1', keys: [] }), events: async () => { throw noRoute(); } },
      events: { list: async () => ({ items: [event(1, 'toolcall-c1', 'a1'), theirs] }) },
      toolCalls: { get: async (id: string) => ({ id }) },
    } as unknown as OpenMcpClient;
    const x = await exportSubject(client, 'acme:agent:a1');
    expect(x.events.map((e) => e.id)).to.deep.equal(['e1']);
    expect(x.toolCalls).to.deep.equal([{ id: 'c1' }]);
  });

  it("keeps only payloads an event's own type and version declare sealed under the subject's keys, not a look-alike {kid, ct} a caller put in plain data", async () => {
    const sealed = { alg: 'A256GCM', kid: 'k1', iv: '0x00', ct: '0x00', tag: '0x00' };
    const lookAlikes = [
      { ...event(2, 'task-t9', 'someone-else', { output: { steps: [{ result: sealed }] } }), type: 'TaskCompleted', version: 1 },
      { ...event(3, 'task-t8', 'someone-else', { steps: [{ tool: 'a__b', arguments: { argumentsSealed: sealed } }] }), type: 'TaskSubmitted', version: 2 },
      { ...event(4, 'note-n1', 'someone-else', { argumentsSealed: sealed }), type: 'SubjectTestNoted', version: 1 },
    ];
    const client = {
      subjects: { show: async () => ({ subject: 'acme:agent:a1', keys: [{ kid: 'k1', createdAt: '2026-12-07T00:00:00.000Z' }] }), events: async () => { throw noRoute(); } },
      events: { list: async () => ({ items: [event(1, 'toolcall-c1', 'worker', { argumentsSealed: sealed }), ...lookAlikes] }) },
      tasks: { get: async () => { throw new Error('none of its tasks'); } },
      toolCalls: { get: async (id: string) => ({ id }) },
    } as unknown as OpenMcpClient;
    const x = await exportSubject(client, 'acme:agent:a1');
    expect(x.events.map((e) => e.id)).to.deep.equal(['e1']);
    expect(x.toolCalls).to.deep.equal([{ id: 'c1' }]);
  });

  it('falls back only for a missing route: another refusal of the subject list (403) is the export\'s error', async () => {
    const forbidden = new ForbiddenApiError({ type: 'about:blank', title: 'Forbidden', status: 403, code: 'FORBIDDEN' });
    const client = {
      subjects: { show: async () => ({ subject: 'acme:agent:a1', keys: [] }), events: async () => { throw forbidden; } },
      events: { list: async () => { throw new Error('the whole log is not read'); } },
    } as unknown as OpenMcpClient;
    const err = await exportSubject(client, 'acme:agent:a1').then(() => undefined, (e: unknown) => e);
    expect(err).to.equal(forbidden);
  });
});

describe('exportSubject: a held page (events of the log past it not listed yet)', () => {
  /** The subject's list held at position 3 for `holds` answers (the first page and asked again from its cursor), then whole. */
  function client(holds: number, reason: 'unapplied' | 'unindexed' = 'unindexed') {
    const asked: (string | undefined)[] = [];
    const c = {
      subjects: {
        show: async () => ({ subject: 'acme:agent:a1', keys: [] }),
        events: async (_subject: string, q: { cursor?: string } = {}) => {
          asked.push(q.cursor);
          if (q.cursor === undefined) return { items: [event(1, 'toolcall-c1', 'a1')], held: { position: 3, reason, cursor: 'after-1' } };
          if (holds-- > 1) return { items: [], held: { position: 3, reason, cursor: 'after-1' } };
          return { items: [event(3, 'toolcall-c3', 'a1'), event(5, 'toolcall-c5', 'a1')] };
        },
      },
      toolCalls: { get: async (id: string) => ({ id }) },
    };
    return { client: c as unknown as OpenMcpClient, asked };
  }

  it('waits and asks again from the cursor the hold gives, so the export is whole, not cut short at the hold', async () => {
    const c = client(3);
    const waits: number[] = [];
    const x = await exportSubject(c.client, 'acme:agent:a1', { sleep: async (ms) => void waits.push(ms) });
    expect(x.events.map((e) => e.id)).to.deep.equal(['e1', 'e3', 'e5']);
    expect(c.asked).to.deep.equal([undefined, 'after-1', 'after-1', 'after-1']);
    expect(waits).to.have.length(3);
    expect(x.toolCalls).to.deep.equal([{ id: 'c1' }, { id: 'c3' }, { id: 'c5' }]);
  });

  it('fails naming the hold when it does not go (rather than export what it has without a word)', async () => {
    for (const reason of ['unindexed', 'unapplied'] as const) {
      const c = client(Infinity, reason);
      const waits: number[] = [];
      const err = await exportSubject(c.client, 'acme:agent:a1', { sleep: async (ms) => void waits.push(ms) }).then(() => undefined, (e: unknown) => e as { code?: string; message: string });
      expect(err?.code).to.equal('SDK_SUBJECT_EXPORT_HELD');
      expect(err?.message).to.include('position 3').and.to.include(reason === 'unindexed' ? 'openmcp_subject_index_unindexed_events' : 'not applied');
      expect(waits.reduce((a, b) => a + b, 0)).to.equal(5 * 60_000);
    }
  });
  it('waits on while the hold moves on (a busy log, a rolling upgrade going on), each place up to 5 minutes; fails after 30 minutes held in all', async () => {
    const moving = (answers: number) => {
      let n = 0;
      return {
        subjects: {
          show: async () => ({ subject: 'acme:agent:a1', keys: [] }),
          // Held 4 minutes (48 answers) at each position, then at the next.
          events: async () => (n++ < answers ? { items: [], held: { position: 3 + Math.floor(n / 48), reason: 'unapplied' } } : { items: [event(9, 'note-n9', 'a1')] }),
        },
      } as unknown as OpenMcpClient;
    };
    const waits: number[] = [];
    const x = await exportSubject(moving(100), 'acme:agent:a1', { sleep: async (ms) => void waits.push(ms) });
    expect(x.events.map((e) => e.id)).to.deep.equal(['e9']);
    expect(waits.reduce((a, b) => a + b, 0)).to.equal(100 * 5_000);
    waits.length = 0;
    const err = await exportSubject(moving(Infinity), 'acme:agent:a1', { sleep: async (ms) => void waits.push(ms) }).then(() => undefined, (e: { code?: string }) => e);
    expect(err?.code).to.equal('SDK_SUBJECT_EXPORT_HELD');
    expect(waits.reduce((a, b) => a + b, 0)).to.equal(30 * 60_000);
  });
});

describe('exportSubject: details with the pages (include=details, 2026-12-11)', () => {
  it("takes each task, its trail and each call from the pages that name them (the first page's when two do), asking one by one only for those no page holds", async () => {
    const asked: string[] = [];
    const log = [event(1, 'task-t1', 'a1'), event(3, 'toolcall-c1', 'a1'), event(5, 'task-t1', 'a1'), event(6, 'task-t2', 'a1'), event(8, 'toolcall-c3', 'a1')];
    const trail = [event(2, 'task-t1', 'worker'), event(4, 'task-t1', 'worker')];
    const pagesOf = [
      { items: log.slice(0, 3), nextCursor: 'p2', tasks: [{ id: 't1', steps: [{ toolCallId: 'c2' }], page: 1 }], taskEvents: trail, toolCalls: [{ id: 'c1' }, { id: 'c2' }] },
      // t1 again (its event 5), as the server saw it for this page: the first page's view is kept. t2's view is missing (not projected yet): asked for itself.
      { items: log.slice(3), tasks: [{ id: 't1', steps: [{ toolCallId: 'c2' }], page: 2 }], taskEvents: trail, toolCalls: [{ id: 'c2' }] },
    ];
    const client = {
      subjects: {
        show: async () => ({ subject: 'acme:agent:a1', keys: [] }),
        events: async (_s: string, q: { cursor?: string; include?: string }) => {
          asked.push(`events ${q.cursor ?? ''} ${q.include}`);
          return pagesOf[q.cursor ? 1 : 0];
        },
      },
      tasks: {
        get: async (id: string) => (asked.push(`task ${id}`), { id, steps: [] }),
        events: async (id: string) => (asked.push(`trail ${id}`), { items: [event(7, 'task-t2', 'worker')] }),
      },
      toolCalls: { get: async (id: string) => (asked.push(`call ${id}`), { id }) },
    } as unknown as OpenMcpClient;
    const x = await exportSubject(client, 'acme:agent:a1');
    expect(asked).to.deep.equal(['events  details', 'events p2 details', 'task t2', 'trail t2', 'call c3']);
    expect(x.events.map((e) => e.id)).to.deep.equal(['e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8']);
    expect(x.tasks).to.deep.equal([{ id: 't1', steps: [{ toolCallId: 'c2' }], page: 1 }, { id: 't2', steps: [] }]);
    expect(x.toolCalls).to.deep.equal([{ id: 'c1' }, { id: 'c3' }, { id: 'c2' }]);
  });

  it('a server with the subject index but not include=details (an earlier build of 2026-12-11, whose list refuses the parameter): pages without it, then every task and call one request each', async () => {
    const asked: string[] = [];
    const client = {
      subjects: {
        show: async () => ({ subject: 'acme:agent:a1', keys: [] }),
        events: async (_s: string, q: { cursor?: string; include?: string }) => {
          asked.push(`events ${q.cursor ?? ''} ${q.include ?? ''}`);
          if (q.include) throw new ValidationApiError({ type: 'about:blank', title: 'Bad Request', status: 400, code: 'VALIDATION_FAILED', field: 'querystring.include' });
          return q.cursor ? { items: [event(3, 'toolcall-c1', 'a1')] } : { items: [event(1, 'task-t1', 'a1')], nextCursor: 'p2' };
        },
      },
      tasks: { get: async (id: string) => (asked.push(`task ${id}`), { id, steps: [] }), events: async () => ({ items: [] }) },
      toolCalls: { get: async (id: string) => (asked.push(`call ${id}`), { id }) },
    } as unknown as OpenMcpClient;
    const x = await exportSubject(client, 'acme:agent:a1');
    expect(asked).to.deep.equal(['events  details', 'events  ', 'events p2 ', 'task t1', 'call c1']);
    expect(x.events.map((e) => e.id)).to.deep.equal(['e1', 'e3']);
  });

  it('a later page refused with include=details (a replica of an earlier build, in a rolling upgrade) is asked again without it, and the rest too, rather than failing the export', async () => {
    const asked: string[] = [];
    const client = {
      subjects: {
        show: async () => ({ subject: 'acme:agent:a1', keys: [] }),
        events: async (_s: string, q: { cursor?: string; include?: string }) => {
          asked.push(`events ${q.cursor ?? ''} ${q.include ?? ''}`);
          if (!q.cursor) return { items: [event(1, 'toolcall-c1', 'a1')], nextCursor: 'p2', tasks: [], taskEvents: [], toolCalls: [{ id: 'c1', page: 1 }] };
          if (q.include) throw new ValidationApiError({ type: 'about:blank', title: 'Bad Request', status: 400, code: 'VALIDATION_FAILED', field: 'querystring.include' });
          return q.cursor === 'p2' ? { items: [event(3, 'toolcall-c2', 'a1')], nextCursor: 'p3' } : { items: [event(5, 'toolcall-c3', 'a1')] };
        },
      },
      tasks: { get: async () => { throw new Error('no tasks here'); }, events: async () => ({ items: [] }) },
      toolCalls: { get: async (id: string) => (asked.push(`call ${id}`), { id }) },
    } as unknown as OpenMcpClient;
    const x = await exportSubject(client, 'acme:agent:a1');
    expect(asked).to.deep.equal(['events  details', 'events p2 details', 'events p2 ', 'events p3 ', 'call c2', 'call c3']);
    expect(x.toolCalls).to.deep.equal([{ id: 'c1', page: 1 }, { id: 'c2' }, { id: 'c3' }]);
  });

  it('another refusal of the first page with details is the export\'s error, not asked again', async () => {
    const refused = new ValidationApiError({ type: 'about:blank', title: 'Bad Request', status: 400, code: 'VALIDATION_FAILED', field: 'params.subject' });
    let asked = 0;
    const client = {
      subjects: { show: async () => ({ subject: 'acme:agent:a1', keys: [] }), events: async () => { asked++; throw refused; } },
    } as unknown as OpenMcpClient;
    expect(await exportSubject(client, 'acme:agent:a1').then(() => undefined, (e: unknown) => e)).to.equal(refused);
    expect(asked).to.equal(1);
  });
});

describe('exportSubject: an erasure while the pages are read', () => {
  it("leaves the pages' details for one request each, read after it: the export never holds a payload opened before an erasure it lists", async () => {
    const asked: string[] = [];
    const erased = { ...event(9, 'subject-k1', 'admin', { kid: 'k1' }), type: 'SubjectKeyErased' };
    const client = {
      subjects: {
        // The key as it was when the export began: live.
        show: async () => ({ subject: 'acme:agent:a1', keys: [{ kid: 'k1', createdAt: '2026-12-07T00:00:00.000Z' }] }),
        events: async (_s: string, q: { cursor?: string }) =>
          q.cursor
            ? { items: [erased], tasks: [], taskEvents: [], toolCalls: [] }
            : { items: [event(1, 'task-t1', 'a1'), event(2, 'toolcall-c1', 'a1')], nextCursor: 'p2', tasks: [{ id: 't1', steps: [], opened: true }], taskEvents: [], toolCalls: [{ id: 'c1', arguments: 'opened' }] },
      },
      tasks: {
        get: async (id: string) => (asked.push(`task ${id}`), { id, steps: [], instructionErased: true }),
        events: async (id: string) => (asked.push(`trail ${id}`), { items: [] }),
      },
      toolCalls: { get: async (id: string) => (asked.push(`call ${id}`), { id, argumentsErased: true }) },
    } as unknown as OpenMcpClient;
    const x = await exportSubject(client, 'acme:agent:a1');
    expect(asked).to.deep.equal(['task t1', 'trail t1', 'call c1']);
    expect(x.tasks).to.deep.equal([{ id: 't1', steps: [], instructionErased: true }]);
    expect(x.toolCalls).to.deep.equal([{ id: 'c1', argumentsErased: true }]);
  });
});

describe('exportSubject: a held page with details (include=details and a hold together)', () => {
  const refused = () => new ValidationApiError({ type: 'about:blank', title: 'Bad Request', status: 400, code: 'VALIDATION_FAILED', field: 'querystring.include' });

  for (const reason of ['unindexed', 'unapplied'] as const) {
    it(`waits at a held page that holds details (${reason}) and asks again from held.cursor with include=details, taking each page's details: the export is whole, ${reason === 'unapplied' ? "the task's trail read again at the end (the page's may lack the event the log had not applied)" : 'no request per task or call'}`, async () => {
      const asked: string[] = [];
      let holds = 2;
      const trail = [event(1, 'task-t1', 'a1'), event(2, 'task-t1', 'worker')];
      const client = {
        subjects: {
          show: async () => ({ subject: 'acme:agent:a1', keys: [] }),
          events: async (_s: string, q: { cursor?: string; include?: string } = {}) => {
            asked.push(`events ${q.cursor ?? ''} ${q.include ?? ''}`);
            // The first page holds its task (and the task's step call), then ends at a hold at 3.
            if (q.cursor === undefined) return { items: [event(1, 'task-t1', 'a1')], tasks: [{ id: 't1', steps: [{ toolCallId: 'c2' }] }], taskEvents: trail, toolCalls: [{ id: 'c2' }], held: { position: 3, reason, cursor: 'after-1' } };
            if (holds-- > 0) return { items: [], tasks: [], taskEvents: [], toolCalls: [], held: { position: 3, reason, cursor: 'after-1' } };
            return { items: [event(3, 'toolcall-c3', 'a1')], tasks: [], taskEvents: [], toolCalls: [{ id: 'c3' }] };
          },
        },
        // The trail as read at the end: with the worker's event at 4, which the page's read lacked.
        tasks: { get: async (id: string) => (asked.push(`task ${id}`), { id, steps: [] }), events: async (id: string) => (asked.push(`trail ${id}`), { items: [...trail, event(4, 'task-t1', 'worker')] }) },
        toolCalls: { get: async (id: string) => (asked.push(`call ${id}`), { id }) },
      } as unknown as OpenMcpClient;
      const waits: number[] = [];
      const x = await exportSubject(client, 'acme:agent:a1', { sleep: async (ms) => void waits.push(ms) });
      const pages = ['events  details', 'events after-1 details', 'events after-1 details', 'events after-1 details'];
      expect(asked).to.deep.equal(reason === 'unapplied' ? [...pages, 'trail t1'] : pages);
      expect(waits).to.deep.equal([5_000, 5_000, 5_000]);
      expect(x.events.map((e) => e.id)).to.deep.equal(reason === 'unapplied' ? ['e1', 'e2', 'e3', 'e4'] : ['e1', 'e2', 'e3']);
      expect(x.tasks).to.deep.equal([{ id: 't1', steps: [{ toolCallId: 'c2' }] }]);
      expect(x.toolCalls).to.deep.equal([{ id: 'c3' }, { id: 'c2' }]);
    });
  }

  it('a held page from a server refusing include=details (the first page, or a later one in a rolling upgrade) is asked again without it from held.cursor, its tasks and calls one request each', async () => {
    for (const refusesFrom of ['first', 'second'] as const) {
      const asked: string[] = [];
      let holds = 1;
      const client = {
        subjects: {
          show: async () => ({ subject: 'acme:agent:a1', keys: [] }),
          events: async (_s: string, q: { cursor?: string; include?: string } = {}) => {
            asked.push(`events ${q.cursor ?? ''} ${q.include ?? ''}`);
            if (q.include && (refusesFrom === 'first' || q.cursor)) throw refused();
            if (q.cursor === undefined) return { items: [event(1, 'toolcall-c1', 'a1')], nextCursor: 'p2', ...(q.include ? { tasks: [], taskEvents: [], toolCalls: [{ id: 'c1', page: 1 }] } : {}) };
            if (q.cursor === 'p2' || holds-- > 0) return { items: q.cursor === 'p2' ? [event(2, 'toolcall-c2', 'a1')] : [], held: { position: 4, reason: 'unindexed', cursor: 'after-2' } };
            return { items: [event(4, 'toolcall-c4', 'a1')] };
          },
        },
        tasks: { get: async () => { throw new Error('no tasks here'); }, events: async () => ({ items: [] }) },
        toolCalls: { get: async (id: string) => (asked.push(`call ${id}`), { id }) },
      } as unknown as OpenMcpClient;
      const x = await exportSubject(client, 'acme:agent:a1', { sleep: async () => undefined });
      const start = refusesFrom === 'first' ? ['events  details', 'events  '] : ['events  details', 'events p2 details'];
      expect(asked).to.deep.equal([...start, 'events p2 ', 'events after-2 ', 'events after-2 ', ...(refusesFrom === 'first' ? ['call c1'] : []), 'call c2', 'call c4']);
      expect(x.events.map((e) => e.id)).to.deep.equal(['e1', 'e2', 'e4']);
      expect(x.toolCalls).to.deep.equal([refusesFrom === 'first' ? { id: 'c1' } : { id: 'c1', page: 1 }, { id: 'c2' }, { id: 'c4' }]);
    }
  });
});
