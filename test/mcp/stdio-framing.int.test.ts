import { expect } from 'chai';
import { PassThrough } from 'node:stream';
import { McpGateway } from '../../src/mcp/gateway';
import { runGatewayStdio } from '../../src/mcp/gateway-stdio';
import type { BehaviourUpstream } from './support/behaviour-upstream';
import { startBehaviourGateway, type BehaviourGateway } from './support/behaviour-gateway';
import { until } from './support/until';

type Answer = { jsonrpc: string; id: string | number | null; result?: unknown; error?: { code: number; message: string } };

/**
 * `openmcp mcp stdio` reads lines as JSON-RPC 2.0 says and MCP 2025-03-26 allows over stdio: a
 * line that is not JSON gets -32700, one that is no JSON-RPC message -32600, and a batch (an
 * array) its answers as one array line. The SDK's stdio transport dropped all three without a
 * word (an error in the server's log at most), so the client waited for ever.
 */
describe('openmcp mcp stdio: what it answers to lines that are not one message', function () {
  this.timeout(30_000);
  let fixture: BehaviourGateway;
  let gateway: McpGateway;
  let upstream: BehaviourUpstream;
  let stdin: PassThrough;
  let lines: Answer[][];
  let session: { close(): Promise<void>; closed: Promise<void> };

  before(async function () {
    fixture = await startBehaviourGateway();
    ({ gateway, upstream } = fixture);
    stdin = new PassThrough();
    const stdout = new PassThrough();
    lines = [];
    let pending = '';
    stdout.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const parsed = JSON.parse(pending.slice(0, nl)) as Answer | Answer[];
        lines.push(Array.isArray(parsed) ? parsed : [parsed]);
        pending = pending.slice(nl + 1);
      }
    });
    session = await runGatewayStdio(gateway, { tenant: 'acme', actor: { kind: 'user', id: 'alice' } }, { stdin, stdout });
    await exchange({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-03-26', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    stdin.write('{"jsonrpc":"2.0","method":"notifications/initialized"}\n');
  });

  after(async function () {
    await session?.close();
    await fixture?.close();
  });

  /** Write one line and return the next line answered (parsed; a single answer as an array of one). */
  async function exchange(line: unknown): Promise<Answer[]> {
    const before = lines.length;
    stdin.write(`${typeof line === 'string' ? line : JSON.stringify(line)}\n`);
    await until('an answer line', () => lines.length > before, 5_000);
    return lines[before];
  }
  const raw = (answers: Answer[]) => JSON.stringify(answers);

  it('answers a line that is not JSON with -32700 Parse error (id null), and goes on', async function () {
    const [answer] = await exchange('{"jsonrpc":"2.0","id":1,"method":"ping"');
    expect(answer.id).to.equal(null);
    expect(answer.error!.code).to.equal(-32700);
    const [pong] = await exchange({ jsonrpc: '2.0', id: 2, method: 'ping' });
    expect(pong).to.deep.include({ id: 2, result: {} });
  });

  it('answers JSON that is no JSON-RPC message with -32600 Invalid Request, with its id when it has one', async function () {
    const [withId] = await exchange({ jsonrpc: '1.0', id: 'x', method: 'ping' });
    expect(withId.id).to.equal('x');
    expect(withId.error!.code).to.equal(-32600);
    const [withoutId] = await exchange({ hello: 'world' });
    expect(withoutId.id).to.equal(null);
    expect(withoutId.error!.code).to.equal(-32600);
  });

  it('answers a batch with one array line holding the answer of each request in it (notifications answered nothing)', async function () {
    const answers = await exchange([
      { jsonrpc: '2.0', id: 10, method: 'ping' },
      { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
      { jsonrpc: '2.0', id: 11, method: 'tools/list' },
      { jsonrpc: '2.0', id: 12, method: 'resources/list' },
      { nonsense: true },
    ]);
    expect(answers, raw(answers)).to.have.length(4);
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(byId.get(10)!.result).to.deep.equal({});
    expect((byId.get(11)!.result as { tools: { name: string }[] }).tools.map((t) => t.name)).to.include('search_tools');
    expect(byId.get(12)!.error!.code).to.equal(-32601);
    expect(byId.get(null)!.error!.code).to.equal(-32600);
  });

  it('answers a batch as one line when its first request is answered at once (an unknown method) and others follow', async function () {
    const before = lines.length;
    const answers = await exchange([
      { jsonrpc: '2.0', id: 60, method: 'no/such-method' },
      { jsonrpc: '2.0', id: 61, method: 'ping' },
    ]);
    expect(answers.map((a) => a.id).sort(), raw(answers)).to.deep.equal([60, 61]);
    await exchange({ jsonrpc: '2.0', id: 62, method: 'ping' });
    expect(lines.length, raw(lines.slice(before).flat())).to.equal(before + 2);
  });

  it('answers a request repeating the id of another in the same batch -32600, in the batch', async function () {
    const before = lines.length;
    const answers = await exchange([
      { jsonrpc: '2.0', id: 70, method: 'ping' },
      { jsonrpc: '2.0', id: 70, method: 'ping' },
    ]);
    expect(answers, raw(answers)).to.have.length(2);
    expect(answers.map((a) => a.error?.code ?? 'result').sort()).to.deep.equal([-32600, 'result']);
    await exchange({ jsonrpc: '2.0', id: 71, method: 'ping' });
    expect(lines.length, raw(lines.slice(before).flat())).to.equal(before + 2);
  });

  it('answers an empty batch with -32600, and a batch of notifications only with nothing', async function () {
    const [empty] = await exchange([]);
    expect(empty.id).to.equal(null);
    expect(empty.error!.code).to.equal(-32600);
    const before = lines.length;
    stdin.write(`${JSON.stringify([{ jsonrpc: '2.0', method: 'notifications/roots/list_changed' }])}\n`);
    const [pong] = await exchange({ jsonrpc: '2.0', id: 20, method: 'ping' });
    expect(pong).to.deep.include({ id: 20, result: {} });
    expect(lines.length).to.equal(before + 1);
  });

  it('answers a batch whose call the client cancels, that call as -32800 MCP_CALL_CANCELLED, and cancels it upstream', async function () {
    const before = lines.length;
    stdin.write(`${JSON.stringify([
      { jsonrpc: '2.0', id: 30, method: 'tools/call', params: { name: 'beh__hold', arguments: { id: 'stdio30' } } },
      { jsonrpc: '2.0', id: 31, method: 'ping' },
    ])}\n`);
    await until('the upstream runs the call', () => upstream.started.includes('stdio30'));
    stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 30, reason: 'stop' } })}\n`);
    await until('the batch answered', () => lines.length > before);
    const answers = lines[before];
    const byId = new Map(answers.map((a) => [a.id, a]));
    expect(byId.get(31)!.result).to.deep.equal({});
    expect(byId.get(30)!.error).to.deep.include({ code: -32800, data: { code: 'MCP_CALL_CANCELLED' } });
    await until('the upstream sees the cancellation', () => upstream.cancelled.includes('stdio30'));
  });

  it('reads a line split across chunks, with CRLF, and a multi-byte character split between two chunks', async function () {
    const before = lines.length;
    // One byte a chunk: every character of the id is cut somewhere, as a pipe may cut it.
    for (const byte of Buffer.from(`${JSON.stringify({ jsonrpc: '2.0', id: 'é€😀', method: 'ping' })}\r\n`)) stdin.write(Buffer.from([byte]));
    await until('an answer line', () => lines.length > before, 5_000);
    expect(lines[before]).to.deep.equal([{ jsonrpc: '2.0', id: 'é€😀', result: {} }]);
  });

  it('refuses a request reusing the id of a batched one still in flight (-32600), and answers the batch as before', async function () {
    const before = lines.length;
    stdin.write(`${JSON.stringify([
      { jsonrpc: '2.0', id: 50, method: 'tools/call', params: { name: 'beh__hold', arguments: { id: 'stdio50' } } },
      { jsonrpc: '2.0', id: 51, method: 'ping' },
    ])}\n`);
    await until('the upstream runs the call', () => upstream.started.includes('stdio50'));
    const [reused] = await exchange({ jsonrpc: '2.0', id: 50, method: 'ping' });
    expect(lines[before], raw(lines[before])).to.have.length(1);
    expect(reused.id).to.equal(50);
    expect(reused.error!.code).to.equal(-32600);
    stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 50 } })}\n`);
    await until('the batch answered', () => lines.length > before + 1);
    const byId = new Map(lines[before + 1].map((a) => [a.id, a]));
    expect(byId.get(51)!.result).to.deep.equal({});
    expect(byId.get(50)!.error).to.deep.include({ code: -32800 });
  });
});
