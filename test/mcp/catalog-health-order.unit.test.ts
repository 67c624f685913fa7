import { expect } from 'chai';
import { ToolCatalog } from '../../src/mcp/catalog';

/**
 * A gateway replica applies the events it appends at once, and those of other replicas when its
 * follower reads them: an older health change of another replica may arrive after its own newer one.
 */
describe('ToolCatalog: health changes applied out of the log order', function () {
  let n = 0;
  const event = (type: string, revision: number, data: Record<string, unknown>, actorId = 'mcp-gateway:b') =>
    ({ stream: 'mcpserver-a', tenant: 'acme', actor: { kind: 'system', id: actorId }, occurredAt: '2026-12-06T12:00:00.000Z', id: `e${n++}`, type, revision, data }) as never;

  it("keeps the latest change of the log: an older one read later (another replica's, followed late) changes nothing", function () {
    const c = new ToolCatalog();
    c.apply(event('McpServerRegistered', 0, { name: 'files', transport: 'stdio', command: 'node' }));
    // B appends its "up" at revision 2 and applies it; A's "down" at revision 1 is read afterwards.
    c.apply(event('McpServerHealthChanged', 2, { status: 'up' }, 'mcp-gateway:b'));
    expect(c.apply(event('McpServerHealthChanged', 1, { status: 'down', reason: 'unreachable' }, 'mcp-gateway:a'))).to.equal(false);
    expect(c.server('a')).to.include({ health: 'up' });
    expect(c.healthObserver('a')).to.equal('mcp-gateway:b');
    expect(c.revisionOf('a')).to.equal(2);
  });

  it('still applies a later change, and events without a revision in the order given', function () {
    const c = new ToolCatalog();
    c.apply(event('McpServerRegistered', 0, { name: 'files', transport: 'stdio', command: 'node' }));
    c.apply(event('McpServerHealthChanged', 1, { status: 'up' }));
    c.apply(event('McpServerHealthChanged', 3, { status: 'down', reason: 'unreachable' }, 'mcp-gateway:a'));
    expect(c.server('a')).to.include({ health: 'down' });
    const { revision: _r, ...unnumbered } = event('McpServerHealthChanged', 0, { status: 'up' }) as unknown as Record<string, unknown>;
    c.apply(unnumbered as never);
    expect(c.server('a')).to.include({ health: 'up' });
  });
});
