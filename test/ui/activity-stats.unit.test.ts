import { expect } from 'chai';
import fc from 'fast-check';
import { ActivityStats } from '../../src/ui/activity-stats';
import type { EventNotice } from '../../src/ui/event-notice';

const MINUTE = 60_000;
const TYPES = ['TaskSubmitted', 'TaskCompleted', 'TaskFailed', 'ToolCallCompleted', 'ToolCallFailed', 'ApiKeyCreated', 'BatchSealed', 'McpServerRegistered'];

describe('ActivityStats: per-minute counts of one tenant or of every tenant', () => {
  it("every tenant's series is the sum of each tenant's, minute by minute and for any role (property)", () => {
    const now = Date.UTC(2026, 11, 6, 12, 0, 30);
    const notice = fc.record({ tenant: fc.constantFrom('acme', 'globex', 'initech'), type: fc.constantFrom(...TYPES), ago: fc.nat(75), task: fc.boolean(), failure: fc.boolean() });
    fc.assert(
      fc.property(fc.array(notice, { maxLength: 60 }), fc.boolean(), (ns, viewer) => {
        const s = new ActivityStats(30);
        for (const [i, n] of ns.entries()) {
          const e: EventNotice = { position: i, id: `e${i}`, type: n.type, stream: 'x-1', tenant: n.tenant, occurredAt: new Date(now - n.ago * MINUTE).toISOString(), ...(n.task ? { taskId: 't' } : {}), ...(n.failure ? { failure: true } : {}) };
          s.add(e);
        }
        const mayRead = viewer ? (p: string) => p !== 'events:read' && p !== 'proofs:read' : undefined;
        const all = s.series(undefined, now, mayRead);
        const each = ['acme', 'globex', 'initech'].map((t) => s.series(t, now, mayRead));
        expect(all).to.have.length(30);
        for (const [m, b] of all.entries()) {
          for (const k of ['events', 'tasksSubmitted', 'tasksCompleted', 'tasksFailed', 'toolCalls', 'toolErrors'] as const) {
            expect(b[k], `${b.start} ${k}`).to.equal(each.reduce((sum, series) => sum + series[m][k], 0));
          }
        }
        expect(s.series('unknown', now).every((b) => b.events === 0)).to.equal(true);
      }),
      { numRuns: 200 },
    );
  });
});
