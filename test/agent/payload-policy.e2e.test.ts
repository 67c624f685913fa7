import { expect } from 'chai';
import type { RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { until } from '../mcp/support/until';
import { toolMessages } from '../support/openai-fake/openai-fake';
import { recordedText, gatewayHarnessForFile, type GatewayHarness } from './support/gateway-harness';
import { ended, ofType, openStore, submitTask, waitForTask } from './support/agent-fixture';



describe('MCP_PAYLOAD_POLICY=hash-only in the agent runtime: task events keep hashes, not tool payloads (gateway + openai-fake)', function () {
  this.timeout(60_000);
  let h: GatewayHarness;
  gatewayHarnessForFile('hash-only', (x) => (h = x));

  it("records no argument, result or upstream error text in the task's steps, output or model turns; the model is told them all the same", async () => {
    h.fake.setScript((req) =>
      toolMessages(req).length === 0
        ? { toolCalls: [{ id: 'c1', name: 'remote__reverse', arguments: { text: 'bravo-hidden' } }, { id: 'c2', name: 'remote__reject', arguments: { message: 'charlie-hidden' } }] }
        : { content: 'done' },
    );
    await h.worker('worker-a').start();
    const id = await submitTask(h.store, 'acme', { steps: [{ tool: 'remote__reverse', arguments: { text: 'alpha-hidden' } }], instruction: 'reverse and reject some text' });
    const events = await waitForTask(h.store, id, ended);
    expect(ofType(events, 'TaskCompleted'), events.map((e) => e.type).join()).to.have.length(1);

    const text = recordedText(events);
    for (const payload of ['alpha-hidden', 'neddih-ahpla', 'bravo-hidden', 'neddih-ovarb', 'charlie-hidden']) expect(text).to.not.contain(payload);
    for (const e of ofType(events, 'TaskStepStarted')) expect(e.data).to.have.property('argumentsHash').and.not.to.have.property('argumentsJson');
    for (const e of ofType(events, 'TaskStepCompleted')) expect(e.data).to.have.property('resultHash').and.not.to.have.property('resultJson');
    const failed = ofType(events, 'TaskStepFailed')[0].data as { stepId: string; error: { code: string; message: string } };
    expect(failed.stepId).to.equal('turn-0-c2');
    expect(failed.error.code).to.equal('MCP_UPSTREAM_ERROR');
    expect(failed.error.message).to.match(/^-32602: upstream error message withheld \(MCP_PAYLOAD_POLICY=hash-only\), sha256 0x[0-9a-f]{64}$/);
    const output = (ofType(events, 'TaskCompleted')[0].data as { output: { steps: Record<string, unknown>[]; answer: string } }).output;
    expect(output.answer).to.equal('done');
    expect(output.steps[0]).to.include({ stepId: 'step-0', tool: 'remote__reverse' }).and.not.to.have.property('text');

    // During the run the model is given everything, as under `store`.
    expect(String(h.fake.requests.at(-2)?.messages.find((m) => m.role === 'user')?.content)).to.contain('neddih-ahpla');
    const told = toolMessages(h.fake.requests.at(-1)!);
    expect(told[0]).to.equal('neddih-ovarb');
    expect(told[1]).to.contain('charlie-hidden');
  });

  it("an explicit step's error result or upstream error fails the task without its text in TaskFailed", async () => {
    await h.worker('worker-a').start();
    const failing = await submitTask(h.store, 'acme', { steps: [{ tool: 'remote__fail', arguments: { message: 'echo-hidden' } }] });
    const rejected = await submitTask(h.store, 'acme', { steps: [{ tool: 'remote__reject', arguments: { message: 'foxtrot-hidden' } }] });
    const [a, b] = await Promise.all([waitForTask(h.store, failing, ended), waitForTask(h.store, rejected, ended)]);
    const errorOf = (es: RecordedEvent[]) => (ofType(es, 'TaskFailed')[0]?.data as { error: { code: string; message: string } }).error;
    expect(errorOf(a).code).to.equal('TOOL_FAILED');
    expect(errorOf(a).message).to.match(/^step 0 \(remote__fail\) returned an error \(its text withheld: MCP_PAYLOAD_POLICY=hash-only; result sha-256 0x[0-9a-f]{64}\)$/);
    expect(errorOf(b).code).to.equal('MCP_UPSTREAM_ERROR');
    expect(errorOf(b).message).to.match(/^step 0 \(remote__reject\): -32602: upstream error message withheld/);
    expect(recordedText(a)).to.not.contain('echo-hidden');
    expect(recordedText(b)).to.not.contain('foxtrot-hidden');
  });

  it('a run resumed after a crash gives the model a placeholder naming the hash for a result the log did not keep', async () => {
    let hung = false;
    h.fake.setScript((req) => {
      if (toolMessages(req).length === 0) return { toolCalls: [{ id: 'd1', name: 'remote__reverse', arguments: { text: 'delta-hidden' } }] };
      if (!hung) return (hung = true), { hang: true };
      return { content: 'done again' };
    });
    const a = h.worker('worker-a');
    await a.start();
    const id = await submitTask(h.store, 'acme', { instruction: 'reverse some text' });
    await waitForTask(h.store, id, (es) => ofType(es, 'TaskStepCompleted').length > 0);
    await until('the second model call hangs', () => hung); // in flight, held by the fake (not a fixed pause)
    await a.kill();
    const asked = h.fake.requests.length;
    await h.worker('worker-b').start();
    const events = await waitForTask(h.store, id, ended);
    expect((ofType(events, 'TaskCompleted')[0]?.data as { output: { answer: string } }).output.answer).to.equal('done again');
    expect(toolMessages(h.fake.requests[asked - 1])).to.deep.equal(['neddih-atled']);
    const resultHash = (ofType(events, 'TaskStepCompleted')[0].data as { resultHash: string }).resultHash;
    expect(resultHash).to.equal(payloadDigest({ content: [{ type: 'text', text: 'neddih-atled' }] }).hash);
    const resumed = toolMessages(h.fake.requests.at(-1)!);
    expect(resumed).to.have.length(1);
    expect(resumed[0]).to.contain(resultHash).and.contain('MCP_PAYLOAD_POLICY=hash-only').and.not.contain('neddih-atled');
    expect(recordedText(events)).to.not.contain('neddih-atled');
  });
});
