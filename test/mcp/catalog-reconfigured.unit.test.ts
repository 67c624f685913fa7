import { expect } from 'chai';
import { ToolCatalog, type CatalogChange } from '../../src/mcp/catalog';

/** McpServerReconfigured in the gateway's catalog: the settings replaced whole, the id, tools and health kept. */
describe('ToolCatalog: McpServerReconfigured', function () {
  const actor = { kind: 'system', id: 'openmcp' };
  let n = 0;
  const event = (server: string, type: string, data: Record<string, unknown>) =>
    ({ stream: `mcpserver-${server}`, tenant: 'acme', actor, occurredAt: `2026-01-01T00:00:0${n}.000Z`, id: `e${n++}`, type, data }) as never;

  it('replaces the settings whole and keeps the tools, health and registration time; a tool-list change it is not', function () {
    const c = new ToolCatalog();
    c.apply(event('a', 'McpServerRegistered', { name: 'files', transport: 'stdio', command: '/old/node', args: ['/old/srv.js'], envKeys: ['MODE'], limits: { timeoutMs: 5_000 } }));
    c.apply(event('a', 'McpServerToolsDiscovered', { tools: [{ name: 'read', inputSchemaJson: '{"type":"object"}' }], toolsHash: `0x${'1'.repeat(64)}` }));
    c.apply(event('a', 'McpServerHealthChanged', { status: 'up' }));
    const tools = c.listTools('acme');
    const changes: CatalogChange[] = [];
    c.onChange((x) => changes.push(x));
    const applied = c.apply(event('a', 'McpServerReconfigured', { name: 'files', transport: 'stdio', command: '/new/node', args: ['/new/srv.js'], env: { TOKEN: '${env:T}' }, envKeys: ['TOKEN'], changed: ['command', 'args', 'env', 'limits'] }));
    expect(applied).to.equal(true);
    expect(changes).to.deep.equal([{ tenant: 'acme', serverId: 'a', kind: 'reconfigured' }]);
    expect(c.listServers('acme')).to.deep.equal([
      { id: 'a', tenant: 'acme', name: 'files', transport: 'stdio', command: '/new/node', args: ['/new/srv.js'], envKeys: ['TOKEN'], url: undefined, env: { TOKEN: '${env:T}' }, health: 'up', registeredAt: '2026-01-01T00:00:00.000Z', toolCount: 1 },
    ]);
    expect(c.listTools('acme')).to.equal(tools);
    expect(c.findTool('acme', 'files__read')?.serverId).to.equal('a');
  });

  it('changes nothing for a server it does not know (removed, or never registered)', function () {
    const c = new ToolCatalog();
    expect(c.apply(event('b', 'McpServerReconfigured', { name: 'x', transport: 'http', url: 'http://h/mcp', changed: ['url'] }))).to.equal(false);
    expect(c.allServers()).to.deep.equal([]);
  });
});
