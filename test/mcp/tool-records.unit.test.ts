import { expect } from 'chai';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { MCP_TOOL_LIMITS, McpToolRecordSchema, uniqueTools } from '../../events/mcp.events';
import { createEvent, MAX_EVENT_BYTES } from '../../src/core/envelope';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { TOOL_LIST_BYTES, toolRecords } from '../../src/mcp/tool-records';

const tool = (name: string, extra: Partial<Tool> = {}): Tool => ({ name, inputSchema: { type: 'object' }, ...extra });

describe('toolRecords: an upstream tool list as the log records it', () => {
  it('keeps the first of two tools with one name, and says why the second is left out', () => {
    const { records, skipped } = toolRecords([tool('a', { description: 'first' }), tool('b'), tool('a', { description: 'second' })]);
    expect(records.map((r) => [r.name, r.description])).to.deep.equal([['a', 'first'], ['b', undefined]]);
    expect(skipped).to.deep.equal([{ name: 'a', why: 'listed twice: the first is kept' }]);
  });

  it('cuts an over-long title or description to its limit, never in the middle of a surrogate pair', () => {
    const description = `${'x'.repeat(MCP_TOOL_LIMITS.description - 1)}😀 and more`;
    const { records, skipped } = toolRecords([tool('long', { description, title: 't'.repeat(MCP_TOOL_LIMITS.title + 5) })]);
    expect(skipped).to.deep.equal([]);
    expect(records[0].description).to.equal('x'.repeat(MCP_TOOL_LIMITS.description - 1));
    expect(records[0].title).to.have.length(MCP_TOOL_LIMITS.title);
    expect(McpToolRecordSchema.safeParse(records[0]).success).to.equal(true);
  });

  it('leaves out a tool the record cannot hold, keeping the others', () => {
    const huge = { type: 'object', properties: { p: { type: 'string', description: 'd'.repeat(MCP_TOOL_LIMITS.schemaJson) } } };
    const { records, skipped } = toolRecords([tool(''), tool('n'.repeat(MCP_TOOL_LIMITS.name + 1)), tool('big', { inputSchema: huge as Tool['inputSchema'] }), tool('ok')]);
    expect(records.map((r) => r.name)).to.deep.equal(['ok']);
    expect(skipped.map((s) => s.why.split(':')[0])).to.deep.equal(['name', 'name', 'inputSchemaJson']);
  });

  it(`keeps at most ${MCP_TOOL_LIMITS.tools} tools`, () => {
    const { records, skipped } = toolRecords(Array.from({ length: MCP_TOOL_LIMITS.tools + 2 }, (_, i) => tool(`t${i}`)));
    expect(records).to.have.length(MCP_TOOL_LIMITS.tools);
    expect(skipped.map((s) => s.name)).to.deep.equal([`t${MCP_TOOL_LIMITS.tools}`, `t${MCP_TOOL_LIMITS.tools + 1}`]);
  });

  it('keeps the list within one event: tools past its room are left out, and the discovery event can be made', () => {
    const schema = { type: 'object', description: 's'.repeat(150_000) } as Tool['inputSchema'];
    const { records, skipped } = toolRecords(Array.from({ length: 40 }, (_, i) => tool(`t${i}`, { inputSchema: schema })));
    expect(records.length).to.be.within(20, 28);
    expect(skipped).to.have.length(40 - records.length);
    expect(skipped[0].why).to.include(`over ${TOOL_LIST_BYTES} bytes`);
    const e = createEvent({ type: 'McpServerToolsDiscovered', stream: 'mcpserver-x1', tenant: 'acme', actor: { kind: 'system', id: 'gw' }, data: { tools: records, toolsHash: payloadDigest(records).hash } });
    expect(Buffer.byteLength(JSON.stringify(e))).to.be.below(MAX_EVENT_BYTES);
  });

  it(`keeps a tool's icons the log can hold (at most ${MCP_TOOL_LIMITS.icons}, http(s) or data:image/) and its _meta within bounds`, () => {
    const icon = (i: number) => ({ src: `https://example.com/${i}.png`, mimeType: 'image/png', extra: 'dropped' });
    const icons = [{ src: 'javascript:alert(1)' }, { src: 'file:///etc/passwd' }, { src: `data:image/png;base64,${'A'.repeat(MCP_TOOL_LIMITS.iconSrc)}` }, ...Array.from({ length: 10 }, (_, i) => icon(i))];
    const { records } = toolRecords([
      tool('a', { icons: icons as Tool['icons'], _meta: { 'x/y': 0.1 } }),
      tool('b', { _meta: { big: 'm'.repeat(MCP_TOOL_LIMITS.metaJson) } }),
      tool('c', { icons: [] }),
    ]);
    expect(records[0].icons).to.deep.equal(Array.from({ length: MCP_TOOL_LIMITS.icons }, (_, i) => ({ src: `https://example.com/${i}.png`, mimeType: 'image/png' })));
    expect(records[0].metaJson).to.equal('{"x/y":0.1}');
    expect(records[1]).to.deep.equal({ name: 'b', inputSchemaJson: '{"type":"object"}' });
    expect(records[2]).to.deep.equal({ name: 'c', inputSchemaJson: '{"type":"object"}' });
  });

  it('uniqueTools: readers of the log take the first tool of each name', () => {
    expect(uniqueTools([{ name: 'a', n: 1 }, { name: 'b', n: 2 }, { name: 'a', n: 3 }])).to.deep.equal([{ name: 'a', n: 1 }, { name: 'b', n: 2 }]);
  });
});
