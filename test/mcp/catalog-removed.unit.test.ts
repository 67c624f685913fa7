import { expect } from 'chai';
import { ToolCatalog } from '../../src/mcp/catalog';

/**
 * ToolCatalog.wasRemoved: what keeps a default (`examples` with OPENMCP_EXAMPLES unset) from
 * coming back at a start after an admin removed it. The system's own removal (ensureServer of a
 * release before McpServerReconfigured replacing a changed configuration) is not one, and a
 * registration since ends it.
 */
describe('ToolCatalog.wasRemoved', function () {
  const admin = { kind: 'user', id: 'admin-key' };
  const system = { kind: 'system', id: 'openmcp' };
  let n = 0;
  function event(server: string, type: string, actor: { kind: string; id: string }, data: Record<string, unknown> = {}) {
    return { stream: `mcpserver-${server}`, tenant: '*', actor, occurredAt: '2026-01-01T00:00:00.000Z', id: `e${n++}`, type, data } as never;
  }
  const registered = (server: string, actor = system) => event(server, 'McpServerRegistered', actor, { name: 'examples', transport: 'stdio', command: 'node' });

  it('is true once an admin removed the last server of the name, false after the system replaced it or anyone registered it again', function () {
    const c = new ToolCatalog();
    expect(c.wasRemoved('*', 'examples'), 'never registered').to.equal(false);
    c.apply(registered('a'));
    c.apply(event('a', 'McpServerRemoved', system, { name: 'examples' }));
    expect(c.wasRemoved('*', 'examples'), 'the system replacing it').to.equal(false);
    c.apply(registered('b'));
    c.apply(event('b', 'McpServerRemoved', admin, { name: 'examples' }));
    expect(c.wasRemoved('*', 'examples'), 'an admin removed it').to.equal(true);
    expect(c.wasRemoved('acme', 'examples'), 'another tenant').to.equal(false);
    c.apply(registered('c', admin));
    expect(c.wasRemoved('*', 'examples'), 'registered again').to.equal(false);
  });
});
