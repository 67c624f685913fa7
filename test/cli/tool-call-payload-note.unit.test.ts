import { expect } from 'chai';
import { runToolCallsShow } from '../../src/cli/tool-calls';
import type { OpenMcpClient } from '../../src/sdk/client';

const HASH = `0x${'ab'.repeat(32)}`;
const NOT_KEPT = 'Not recorded, only its hash: MCP_PAYLOAD_POLICY=hash-only, more than 256 KiB of JSON, or arguments a model wrote under LLM_REDACTION=hash-only.';
const ERASED = "Erased, only its hash: recorded encrypted (MCP_PAYLOAD_POLICY=encrypted), and the subject's key has been deleted since.";

async function show(call: object): Promise<string[]> {
  const client = { toolCalls: { get: async () => call } } as unknown as OpenMcpClient;
  const lines: string[] = [];
  expect(await runToolCallsShow(client, 'id', {}, (l) => lines.push(l))).to.equal(0);
  return lines;
}

/**
 * A payload kept by its hash only is so under MCP_PAYLOAD_POLICY=hash-only, but also when it is
 * over 256 KiB of JSON (under store or encrypted) or arguments a model wrote under
 * LLM_REDACTION=hash-only. `tool-calls show` named hash-only for all of them, on a gateway under
 * encrypted too; the dashboard said why rightly. Both now say the same (src/sdk/payload-note.ts).
 */
describe('CLI tool-calls show: why a payload is not shown, as the dashboard says it', () => {
  const base = { id: '01900000-0000-7000-8000-000000000009', tenant: 'acme', status: 'completed', server: 'examples', serverId: 's', tool: 'echo', requestedAt: 'r', completedAt: 'c' };

  it('a payload kept by its hash only: every reason it can be, not just MCP_PAYLOAD_POLICY=hash-only', async () => {
    const lines = await show({ ...base, argumentsHash: HASH, resultHash: HASH, result: { content: [] } });
    expect(lines).to.include(`arguments hash: ${HASH}`);
    expect(lines).to.include(`arguments: ${NOT_KEPT}`);
    expect(lines).to.include('result: {"content":[]}');
    expect(lines.join('\n')).to.not.include('not recorded (MCP_PAYLOAD_POLICY=hash-only)');
  });

  it('an erased payload, a pending result and a failed call', async () => {
    expect(await show({ ...base, argumentsHash: HASH, argumentsErased: true, resultHash: HASH, resultErased: true })).to.include.members([`arguments: ${ERASED}`, `result: ${ERASED}`]);
    expect(await show({ ...base, status: 'requested', completedAt: undefined, argumentsHash: HASH, arguments: {} })).to.include('result: No answer yet.');
    expect(await show({ ...base, status: 'failed', argumentsHash: HASH, arguments: {}, error: { code: 'MCP_UPSTREAM_TIMEOUT', message: 'no answer' } })).to.include('result: None: the call got no answer.');
  });
});
