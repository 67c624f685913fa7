import { expect } from 'chai';
import { ToolCatalog, type CatalogChange } from '../../src/mcp/catalog';

/**
 * A gateway replica applies the events it appends at once, and those of other replicas when its
 * follower reads them: another replica's older discovery or reconfiguration may arrive after its
 * own newer one. Each fact a server's stream records (its tools, its settings, its health) is the
 * log's latest of that fact, whatever the order it was applied in.
 */
describe('ToolCatalog: discoveries and reconfigurations applied out of the log order', function () {
  let n = 0;
  const event = (type: string, revision: number, data: Record<string, unknown>, actorId = 'mcp-gateway:b') =>
    ({ stream: 'mcpserver-a', tenant: 'acme', actor: { kind: 'system', id: actorId }, occurredAt: '2026-12-06T12:00:00.000Z', id: `e${n++}`, type, revision, data }) as never;
  const discovered = (revision: number, names: string[], hashDigit: string, actorId?: string) =>
    event('McpServerToolsDiscovered', revision, { tools: names.map((name) => ({ name, inputSchemaJson: '{"type":"object"}' })), toolsHash: `0x${hashDigit.repeat(64)}` }, actorId);
  const registered = () => event('McpServerRegistered', 0, { name: 'files', transport: 'stdio', command: 'node' });

  it("keeps the latest discovery of the log: an older one read later (another replica's, followed late) changes nothing", function () {
    const c = new ToolCatalog();
    c.apply(registered());
    // B appends its discovery at revision 2 and applies it; A's older one at revision 1 is read afterwards.
    c.apply(discovered(2, ['read', 'write'], '2', 'mcp-gateway:b'));
    const tools = c.listTools('acme');
    const changes: CatalogChange[] = [];
    c.onChange((x) => changes.push(x));
    expect(c.apply(discovered(1, ['read'], '1', 'mcp-gateway:a'))).to.equal(false);
    expect(changes, 'no tools/list_changed, no reindexing').to.deep.equal([]);
    expect(c.listTools('acme')).to.equal(tools);
    expect(c.listTools('acme').map((t) => t.name)).to.deep.equal(['files__read', 'files__write']);
    expect(c.server('a')?.toolsHash).to.equal(`0x${'2'.repeat(64)}`);
    expect(c.revisionOf('a')).to.equal(2);
  });

  it('keeps the latest reconfiguration of the log the same way', function () {
    const c = new ToolCatalog();
    c.apply(registered());
    c.apply(event('McpServerReconfigured', 3, { name: 'files', transport: 'stdio', command: '/v3/node', changed: ['command'] }, 'mcp-gateway:b'));
    expect(c.apply(event('McpServerReconfigured', 2, { name: 'files', transport: 'stdio', command: '/v2/node', changed: ['command'] }, 'mcp-gateway:a'))).to.equal(false);
    expect(c.server('a')).to.include({ command: '/v3/node' });
  });

  it('orders each fact on its own: an older discovery read after a newer health change or reconfiguration still applies', function () {
    const c = new ToolCatalog();
    c.apply(registered());
    c.apply(event('McpServerHealthChanged', 3, { status: 'up' }));
    c.apply(event('McpServerReconfigured', 4, { name: 'files', transport: 'stdio', command: '/v4/node', changed: ['command'] }));
    expect(c.apply(discovered(2, ['read'], '1', 'mcp-gateway:a'))).to.equal(true);
    expect(c.listTools('acme').map((t) => t.name)).to.deep.equal(['files__read']);
    expect(c.apply(event('McpServerHealthChanged', 1, { status: 'down', reason: 'unreachable' }, 'mcp-gateway:a'))).to.equal(false);
    expect(c.server('a')).to.include({ health: 'up', command: '/v4/node' });
  });

  it('still applies a later discovery, and events without a revision in the order given', function () {
    const c = new ToolCatalog();
    c.apply(registered());
    c.apply(discovered(1, ['read'], '1'));
    c.apply(discovered(3, ['write'], '3'));
    expect(c.listTools('acme').map((t) => t.name)).to.deep.equal(['files__write']);
    const { revision: _r, ...unnumbered } = discovered(0, ['read', 'list'], '4') as unknown as Record<string, unknown>;
    expect(c.apply(unnumbered as never)).to.equal(true);
    expect(c.listTools('acme').map((t) => t.name)).to.deep.equal(['files__read', 'files__list']);
  });
});
