import { expect } from 'chai';
import fc from 'fast-check';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { contentOf, verifyEventHash, type RecordedEvent } from '../../src/core/envelope';
import type { EventStore } from '../../src/eventstore/port';
import { McpGateway } from '../../src/mcp/gateway';
import { ToolCallAudit } from '../../src/mcp/audit';
import { loneSurrogateIn } from '../../src/core/lone-surrogate';
import { openTempSqliteStore } from './support/stores';
import { httpClient, startGatewayHttp } from './support/clients';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { startIllFormedUpstream, unitsOf } from './support/ill-formed-server';
import { strictJcs, strictJcsHash, untrustedText } from '../support/strict-jcs';

const ctx = { tenant: 'acme', actor: { kind: 'user' as const, id: 'alice' } };
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as { code: string; message: string; details?: Record<string, unknown> });

/** Every event of the store: each must hash as an independent, strict RFC 8785 does (no lone surrogate can pass it). */
async function everyEvent(store: EventStore): Promise<RecordedEvent[]> {
  const all = await store.readAll({ limit: 10_000 });
  for (const e of all) {
    expect(loneSurrogateIn(e.data), `${e.type} ${e.stream}`).to.equal(undefined);
    expect(e.hash, `${e.type} ${e.stream}`).to.equal(strictJcsHash(contentOf(e)));
    expect(verifyEventHash(e)).to.equal(true);
  }
  return all;
}

async function outcomeOf(store: EventStore): Promise<RecordedEvent> {
  const calls = await store.readAll({ limit: 10_000, streamPrefix: 'toolcall-' });
  return calls[calls.length - 1];
}

/**
 * An upstream whose tools, results and errors hold lone UTF-16 surrogates (as JSON lets it send
 * them): the gateway passes them on, records and hashes them as the same well-formed text (U+FFFD
 * in their place), so every event and resultHash is reproducible by an RFC 8785 outside JavaScript.
 */
describe('MCP gateway: an upstream whose text is not well-formed Unicode', function () {
  this.timeout(120_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let remote: Awaited<ReturnType<typeof startIllFormedUpstream>>;
  let gateway: McpGateway;

  before(async function () {
    db = await openTempSqliteStore();
    remote = await startIllFormedUpstream();
    gateway = new McpGateway({ store: db.store, payloadPolicy: 'store', cacheTtlMs: 0, upstream: { healthIntervalMs: 0, retries: 0 } });
    await gateway.start();
    const s = await gateway.registerServer({ ...ctx, name: 'odd', transport: 'http', url: remote.url });
    expect(s.health).to.equal('up');
  });

  after(async function () {
    await gateway?.close();
    await remote?.close();
    await db?.cleanup();
  });

  it('records its tools with U+FFFD in place of a lone surrogate, as it lists them, and leaves out a tool whose name has one (its name is how it is called)', async () => {
    const tools = gateway.listTools('acme');
    expect(tools.map((t) => t.upstreamName).sort()).to.deep.equal(['fail', 'say']);
    const say = tools.find((t) => t.upstreamName === 'say')!;
    expect(say.description).to.equal('Say it \ufffd as given');
    expect(JSON.stringify(say.inputSchema)).to.include('"note\ufffd"').and.include('"x\ufffd"');
    const discovered = (await everyEvent(db.store)).find((e) => e.type === 'McpServerToolsDiscovered')!;
    expect(JSON.stringify(discovered.data)).to.include('Say it \ufffd as given');
  });

  it('a result: the caller gets it well-formed, ToolCallCompleted keeps that text and its resultHash is its RFC 8785 hash (property)', async () => {
    await fc.assert(
      fc.asyncProperty(untrustedText, fc.option(untrustedText, { nil: undefined }), async (text, key) => {
        const result = await gateway.callTool(ctx, 'odd__say', { units: unitsOf(text), ...(key !== undefined ? { keyUnits: unitsOf(key) } : {}) });
        const expected: CallToolResult = { content: [{ type: 'text', text: text.toWellFormed() }], ...(key !== undefined ? { structuredContent: { [key.toWellFormed()]: text.toWellFormed() } } : {}) };
        expect(result).to.deep.equal(expected);
        const done = await outcomeOf(db.store);
        expect(done.type).to.equal('ToolCallCompleted');
        expect(done.data.resultHash).to.equal(strictJcsHash(result));
        expect(done.data.resultJson).to.equal(strictJcs(result));
        expect(done.hash).to.equal(strictJcsHash(contentOf(done)));
      }),
      { numRuns: 25 },
    );
    await everyEvent(db.store);
  });

  it('an error: the caller is told the message ToolCallFailed records, well-formed (property)', async () => {
    await fc.assert(
      fc.asyncProperty(untrustedText, async (text) => {
        const err = await failure(gateway.callTool(ctx, 'odd__fail', { units: unitsOf(text) }));
        expect(err).to.include({ code: 'MCP_UPSTREAM_ERROR', message: text.toWellFormed() });
        const failed = await outcomeOf(db.store);
        expect(failed.type).to.equal('ToolCallFailed');
        expect(failed.data.error).to.deep.equal({ code: 'MCP_UPSTREAM_ERROR', message: `-32010: ${text.toWellFormed()}`.slice(0, 4000) });
        expect(failed.hash).to.equal(strictJcsHash(contentOf(failed)));
      }),
      { numRuns: 25 },
    );
  });

  it('over /mcp: the MCP client gets the result ToolCallCompleted records (resultHash is its RFC 8785 hash), and its own lone surrogate is -32602 naming the field', async () => {
    const http = await startGatewayHttp(gateway);
    const client = await httpClient(http.url, 'key-acme-alice');
    try {
      const got = await client.callTool({ name: 'odd__say', arguments: { units: unitsOf('a\ud800b\udc00 \ud83d\ude00'), keyUnits: [0xdbff] } });
      expect(got).to.deep.equal({ content: [{ type: 'text', text: 'a\ufffdb\ufffd \ud83d\ude00' }], structuredContent: { '\ufffd': 'a\ufffdb\ufffd \ud83d\ude00' } });
      const done = await outcomeOf(db.store);
      expect(done.data.resultHash).to.equal(strictJcsHash(got));
      expect(JSON.parse(done.data.resultJson as string)).to.deep.equal(got);
      const refused = await failure(client.callTool({ name: 'odd__say', arguments: { units: [65], note: 'x\ud800' } }));
      expect(refused).to.be.instanceOf(McpError);
      expect((refused as unknown as McpError).code).to.equal(ErrorCode.InvalidParams);
      expect(refused!.message).to.include('arguments.note: a lone UTF-16 surrogate (\\ud800)');
    } finally {
      await client.close().catch(() => {});
      await http.app.close();
    }
  });

  it('a caller\'s own arguments with a lone surrogate are refused naming the field, nothing recorded or called', async () => {
    const before = (await db.store.readAll({ limit: 10_000 })).length;
    const err = await failure(gateway.callTool(ctx, 'odd__say', { units: [65], note: ['ok', 'x\ud800'] }));
    expect(err).to.include({ code: 'VALIDATION_FAILED' });
    expect(err!.details).to.deep.equal({ field: 'arguments.note.1' });
    expect(err!.message).to.equal('arguments.note.1: a lone UTF-16 surrogate (\\ud800) is not Unicode text, which event hashes need (RFC 8785)');
    expect((await db.store.readAll({ limit: 10_000 })).length).to.equal(before);
  });

  it('an error message cut at 4,000 characters is never cut between the halves of a pair', async () => {
    const text = `${'a'.repeat(3999 - '-32010: '.length)}\ud83d\ude00 tail`;
    await failure(gateway.callTool(ctx, 'odd__fail', { units: unitsOf(text) }));
    const failed = await outcomeOf(db.store);
    expect(failed.type).to.equal('ToolCallFailed');
    expect((failed.data.error as { message: string }).message).to.equal(`-32010: ${'a'.repeat(3999 - 8)}`);
  });

  it('a result the log cannot hold (a path that missed the boundary) still ends its call: ToolCallFailed says why, the caller gets AUDIT_UNAVAILABLE and no result', async () => {
    const tool = gateway.listTools('acme').find((t) => t.upstreamName === 'say')!;
    const audit = new ToolCallAudit(db.store, ctx, tool);
    await audit.requested({ argumentsHash: `0x${'1'.repeat(64)}`, payloadPolicy: 'store' });
    const err = await failure(audit.completed({ resultHash: `0x${'2'.repeat(64)}`, resultJson: 'raw \ud800 text', isError: false, cached: false, latencyUs: 5 }));
    expect(err).to.include({ code: 'AUDIT_UNAVAILABLE' });
    expect(err!.message).to.match(/^tool call outcome could not be recorded; result withheld \(ToolCallCompleted event not built: data\.resultJson holds a lone UTF-16 surrogate \(\\ud800\)/);
    const events = await db.store.readStream(audit.stream);
    expect(events.map((e) => e.type)).to.deep.equal(['ToolCallRequested', 'ToolCallFailed']);
    expect(events[1].data.error).to.deep.include({ code: 'AUDIT_UNAVAILABLE' });
    expect((events[1].data.error as { message: string }).message).to.match(/^the result could not be recorded, so it was withheld: ToolCallCompleted event not built: data\.resultJson/);
    await everyEvent(db.store);
  });
});
