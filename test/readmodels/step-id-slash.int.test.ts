import { expect } from 'chai';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { projectedReadModels } from './support';

const actor = { kind: 'user' as const, id: 'u' };
const agent = { kind: 'agent' as const, id: 'agent-1' };
const h = (c: string) => `0x${c.repeat(64)}`;

/**
 * A step the model asked for is named after the provider's call id (`turn-<n>-<call id>`), which may
 * hold a slash. Its end, applied in a later batch than its start, must find the step it ends.
 */
for (const dialect of ['sqlite', 'mysql'] as const) {
  describe(`task view: a model's step whose id holds a slash (${dialect} read models)`, () => {
    const t = projectedReadModels(dialect);

    async function record(stream: string, events: { type: string; data: Record<string, unknown>; actor?: typeof actor }[]) {
      const r = await t.db.store.append(stream, events.map((e) => createEvent({ type: e.type, stream, tenant: 'acme', actor: e.actor ?? agent, data: e.data })));
      expect(await t.rm.waitForPosition(r.position, 5000)).to.equal(true);
    }

    it('shows the step completed when its end comes in a batch after its start', async () => {
      const id = newId();
      const stream = `task-${id}`;
      const stepId = 'turn-0-call/a/b';
      await record(stream, [
        { type: 'TaskSubmitted', actor, data: { instruction: 'echo' } },
        { type: 'TaskStarted', data: { worker: 'w' } },
        { type: 'TaskStepStarted', data: { stepId, index: 0, tool: 'examples__echo', argumentsHash: h('1'), argumentsJson: '{"text":"hi"}', source: 'llm', idempotent: true } },
      ]);
      await record(stream, [{ type: 'TaskStepCompleted', data: { stepId, resultHash: h('2'), resultJson: '{"content":[]}', isError: false } }]);
      const view = (await t.rm.getTask('acme', id))!;
      expect(view.steps.map((s) => [s.index, s.tool, s.status])).to.deep.equal([[0, 'examples__echo', 'completed']]);
      expect(view.steps[0].result).to.deep.equal({ content: [] });
    });

    it('ends every step of a delivery naming more steps than one lookup takes (the key lookup in chunks)', async () => {
      const id = newId();
      const stream = `task-${id}`;
      // More than twice ROWS_PER_STATEMENT (200) steps: each delivery below names them all.
      const ids = Array.from({ length: 450 }, (_, i) => `turn-0-call/${i}`);
      await record(stream, [
        { type: 'TaskSubmitted', actor, data: { instruction: 'echo' } },
        { type: 'TaskStarted', data: { worker: 'w' } },
        ...ids.map((stepId, index) => ({ type: 'TaskStepStarted', data: { stepId, index, tool: 'examples__echo', argumentsHash: h('1'), source: 'llm', idempotent: true } })),
      ]);
      await record(stream, ids.map((stepId) => ({ type: 'TaskStepCompleted', data: { stepId, resultHash: h('2'), resultJson: '{"content":[]}', isError: false } })));
      const view = (await t.rm.getTask('acme', id))!;
      expect(view.steps).to.have.length(450);
      expect(view.steps.filter((s) => s.status !== 'completed').map((s) => s.index)).to.deep.equal([]);
    });
  });
}
