import { expect } from 'chai';
import { McpGateway } from '../../src/mcp/gateway';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'alice' };

/**
 * A stdio server whose command is not found (a bare `tsx`, `./server.js` run from another working
 * directory: README, "More MCP servers": "A stdio server's command runs in the working directory of each process that starts it")
 * was down with the spawn error alone, `files: spawn tsx ENOENT`, saying nothing of what to do.
 */
describe('MCP stdio upstream whose command is not found', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
  });
  after(async function () {
    await gateway?.close();
    await db?.cleanup();
  });

  for (const [tenant, command, reason] of [
    ['acme', 'openmcp-no-such-program', 'files: spawn openmcp-no-such-program ENOENT: no such program or directory here; give the command (and its files) as absolute paths, which every gateway process and every openmcp mcp stdio can run from its own working directory and PATH'],
    ['acme', './openmcp-no-such-program.js', 'files: spawn ./openmcp-no-such-program.js ENOENT: no such program or directory here; give the command (and its files) as absolute paths, which every gateway process and every openmcp mcp stdio can run from its own working directory and PATH'],
  ] as const) {
    it(`${command}: down, saying to give an absolute path`, async function () {
      const s = await gateway.registerServer({ tenant, actor, name: 'files', transport: 'stdio', command });
      expect(s.health).to.equal('down');
      expect(s.healthReason).to.equal(reason);
      await gateway.removeServer(tenant, s.id, actor);
    });
  }
});
