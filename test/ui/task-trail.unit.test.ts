import { expect } from 'chai';

// ui/app is plain ES modules (ui/package.json: type module): the very file the dashboard serves.
type Client = { api(path: string): Promise<any>; apiAll(path: string, max: number): Promise<any[]> };
const MODULE: string = '../../ui/app/task-trail.js';
const load = async () => (await import(MODULE)) as { loadTrail(c: Client, id: string, done?: Map<string, any[]>): Promise<any[]> };

const TASK = 't1';
const ev = (position: number, type: string, stream: string, sealed: boolean) => ({ id: `e${position}`, position, type, stream, ...(sealed ? { seq: position, batchId: 0 } : {}) });

/** A gateway holding one task with `calls` tool calls, counting the requests the page makes. */
function gateway(calls: { sealed: boolean; done: boolean }[]) {
  const asked: string[] = [];
  const streams = new Map<string, any[]>();
  calls.forEach((c, i) => {
    const s = `toolcall-c${i}`;
    streams.set(s, [ev(10 * i + 1, 'ToolCallRequested', s, c.sealed), ...(c.done ? [ev(10 * i + 2, 'ToolCallCompleted', s, c.sealed)] : [])]);
  });
  const client: Client = {
    api: async (path) => (asked.push(path), { id: TASK, steps: calls.map((_, i) => ({ index: i, toolCallId: `c${i}` })) }),
    apiAll: async (path) => {
      asked.push(path);
      const m = /stream=(toolcall-[^&]+)/.exec(path);
      return m ? streams.get(decodeURIComponent(m[1]))! : [ev(0, 'TaskSubmitted', `task-${TASK}`, true)];
    },
  };
  return { client, asked, streams };
}

describe('dashboard Task page: loading the audit trail', () => {
  it('merges the tool calls into the task stream in global order', async () => {
    const { loadTrail } = await load();
    const g = gateway([{ sealed: true, done: true }, { sealed: false, done: false }]);
    const trail = await loadTrail(g.client, TASK, new Map());
    expect(trail.map((e) => e.position)).to.deep.equal([0, 1, 2, 11]);
  });

  it('reads a finished, sealed tool call once: a live refresh asks only for the calls that can still change (a running task spent the key\'s rate limit)', async () => {
    const { loadTrail } = await load();
    const g = gateway([
      { sealed: true, done: true },
      { sealed: true, done: true },
      { sealed: false, done: true },
      { sealed: false, done: false },
    ]);
    const done = new Map<string, any[]>();
    await loadTrail(g.client, TASK, done);
    g.asked.length = 0;
    // The running call finishes and the batch seals the unsealed one meanwhile.
    g.streams.set('toolcall-c2', g.streams.get('toolcall-c2')!.map((e) => ({ ...e, seq: e.position, batchId: 1 })));
    const again = await loadTrail(g.client, TASK, done);
    expect(g.asked.filter((p) => p.includes('stream=toolcall-'))).to.deep.equal(['/v1/events?stream=toolcall-c2&limit=100', '/v1/events?stream=toolcall-c3&limit=100']);
    expect(again.find((e) => e.stream === 'toolcall-c2').batchId, 'what sealing added is shown').to.equal(1);
    expect(again.filter((e) => e.stream === 'toolcall-c0')).to.have.length(2);
    g.asked.length = 0;
    await loadTrail(g.client, TASK, done);
    expect(g.asked.filter((p) => p.includes('stream=toolcall-'))).to.deep.equal(['/v1/events?stream=toolcall-c3&limit=100']);
  });
});
