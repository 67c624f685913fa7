import { expect } from 'chai';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { rebuildProjection } from '../../src/cli/projections';
import { InProcessBus } from '../../src/bus/inprocess';
import { MemoryCheckpointStore } from '../../src/checkpoints';
import { Projector } from '../../src/projector/projector';
import { mysqlAvailable, requireService } from '../support/services';
import { recordCall } from '../support/tool-call-events';
import { openTestDb, snapshot, type Dialect, type TestDb } from './support';

const agent = { kind: 'agent' as const, id: 'agent-1' };
const hex = (c: string, n = 64) => `0x${c.repeat(n)}`;

/**
 * What 2026-12-11 adds to the step runs and tool calls (a transaction's progress, tx_json; a call's
 * step, step_id) is idempotent: a redelivery and a
 * rebuild all give the same rows.
 */
for (const dialect of ['sqlite', 'mysql'] as Dialect[]) {
  describe(`step transactions and call steps re-projected alike (${dialect})`, function () {
    this.timeout(60_000);
    let db: TestDb;
    before(async function () {
      if (dialect === 'mysql') await requireService(this, 'MariaDB', mysqlAvailable);
    });
    beforeEach(async () => {
      db = await openTestDb(dialect);
    });
    afterEach(async () => {
      await db?.close();
    });

    it('a redelivery and a rebuild give the same tx_json and step_id', async () => {
      const events: RecordedEvent[] = [];
      const id = newId();
      const stream = `task-${id}`;
      const ev = (type: string, data: Record<string, unknown>) => createEvent({ type, stream, tenant: 'acme', actor: agent, data });
      const step = 'turn-0-call_tx';
      events.push(...(await db.store.append(stream, [
        ev('TaskSubmitted', { instruction: 'pay bob, then echo' }),
        ev('TaskStarted', { worker: 'w' }),
        ev('TaskStepStarted', { stepId: step, index: 0, tool: 'chain__send_transaction', argumentsHash: hex('1'), argumentsJson: '{}', source: 'llm', idempotent: false }),
        ev('TransactionSubmitted', { stepId: step, chainId: 31337, from: hex('b', 40), to: hex('c', 40), method: 'transfer(address,uint256)', proposalHash: hex('d'), nonce: 7, txHash: hex('a'), value: '0', gasLimit: '21000', rawTransaction: '0x02f8' }),
        ev('TransactionConfirmed', { stepId: step, chainId: 31337, txHash: hex('a'), blockNumber: 12, blockHash: hex('e'), status: 'success', gasUsed: '21000' }),
        ev('TaskStepStarted', { stepId: 'turn-1-call_e', index: 1, tool: 'examples__echo', argumentsHash: hex('2'), argumentsJson: '{}', source: 'llm', idempotent: true }),
      ])).events);
      const call = await recordCall(db.store, { tenant: 'acme', taskId: id, tool: 'echo', stepId: 'turn-1-call_e' });
      events.push(...(await db.store.readStream(`toolcall-${call.id}`)));
      events.push(...(await db.store.append(stream, [ev('TaskCancelled', { reason: 'stop' })])).events);

      const projector = new Projector({ knex: db.knex, bus: new InProcessBus(db.store, new MemoryCheckpointStore()) });
      try {
        await projector.applyEvents(events);
        const once = await snapshot(db.knex);
        expect(once.rm_task_step_runs.join()).to.contain('tx_json').and.to.contain('confirmed');
        expect(once.rm_tool_calls.join()).to.contain('turn-1-call_e');
        await projector.applyEvents(events);
        expect(await snapshot(db.knex), 'redelivered').to.deep.equal(once);
        for (const name of ['task-steps', 'tool-calls']) await rebuildProjection({ knex: db.knex, store: db.store }, name);
        expect(await snapshot(db.knex), 'rebuilt').to.deep.equal(once);
      } finally {
        await projector.stop();
      }
    });
  });
}
