import { expect } from 'chai';
import fc from 'fast-check';
import { ToolCatalog } from '../../src/mcp/catalog';
import { aliasToolName, HOST_SAFE_TOOL_NAME, hostSafeToolName, namespacedToolName } from '../../src/core/tool-name';

const server = fc.stringMatching(/^[a-z][a-z0-9-]{0,62}$/);
const tool = fc.string({ minLength: 1, maxLength: 200, unit: 'binary' });

describe('host-safe tool names', function () {
  it('are always accepted by LLM hosts, and derived from the names alone', function () {
    fc.assert(
      fc.property(server, tool, (s, t) => {
        const n = hostSafeToolName(s, t);
        expect(n).to.match(HOST_SAFE_TOOL_NAME);
        expect(hostSafeToolName(s, t)).to.equal(n);
      }),
    );
  });

  it('leave every name that was already host-safe as it was', function () {
    fc.assert(
      fc.property(server, fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/), (s, t) => {
        fc.pre(namespacedToolName(s, t).length <= 64);
        expect(hostSafeToolName(s, t)).to.equal(namespacedToolName(s, t));
      }),
    );
  });

  it('tell apart tools that differ only in the characters replaced', function () {
    expect(aliasToolName('files', 'read.file')).to.not.equal(aliasToolName('files', 'read/file'));
    expect(aliasToolName('files', 'read.file')).to.equal('files__read_file_' + aliasToolName('files', 'read.file').slice(-8));
    expect(aliasToolName('files', 'read.file', 16)).to.have.length('files__read_file_'.length + 16);
    expect(aliasToolName('a'.repeat(63), 'x'.repeat(200))).to.have.length(64);
  });
});

describe('ToolCatalog: tool names', function () {
  function catalogWith(tools: string[]): ToolCatalog {
    const c = new ToolCatalog();
    const base = { stream: 'mcpserver-s1', tenant: 'acme', version: 1, actor: { kind: 'system' as const, id: 't' }, occurredAt: '2026-01-01T00:00:00.000Z' };
    c.apply({ ...base, id: 'e1', type: 'McpServerRegistered', data: { name: 'beh', transport: 'http', url: 'http://x' } } as never);
    const records = tools.map((name) => ({ name, inputSchemaJson: '{"type":"object"}' }));
    c.apply({ ...base, id: 'e2', type: 'McpServerToolsDiscovered', data: { tools: records, toolsHash: `0x${'0'.repeat(64)}` } } as never);
    return c;
  }

  it('an alias taken by a valid name gets more digest digits; both tools stay callable', function () {
    const alias = aliasToolName('beh', 'files.read');
    const c = catalogWith(['files.read', alias.slice('beh__'.length)]);
    const names = c.listTools('acme').map((t) => t.name);
    expect(names).to.deep.equal([aliasToolName('beh', 'files.read', 16), alias]);
    expect(c.findTool('acme', alias)?.upstreamName).to.equal(alias.slice('beh__'.length));
    expect(c.findTool('acme', names[0])?.upstreamName).to.equal('files.read');
    expect(c.findTool('acme', 'beh__files.read')?.upstreamName).to.equal('files.read');
  });
});
