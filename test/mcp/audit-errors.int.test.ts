import { expect } from 'chai';
import knexFactory from 'knex';
import { McpGateway } from '../../src/mcp/gateway';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { EventStore } from '../../src/eventstore/port';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { createTestDatabase, mysqlAvailable, requireService } from '../support/services';

const ctx = { tenant: 'acme', actor: { kind: 'user' as const, id: 'alice' } };

/**
 * When the audit log refuses a tool call's event, the call is not made (AUDIT_UNAVAILABLE). The
 * store's own error is for operators, in the gateway's log: a SQL driver's message holds the
 * statement with its values (the event, the arguments in it), which is not the caller's business.
 */
describe('MCP gateway: a tool call the audit log refuses', function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let store: EventStore;
  let remote: HttpExample;
  let gateway: McpGateway;
  const warnings: [unknown, string | undefined][] = [];

  /** Make the database refuse the tool call events matching `which` (a condition on NEW), nothing else. */
  async function refuseToolCallEvents(which: string): Promise<void> {
    const k = knexFactory({ client: 'mysql2', connection: db.url, pool: { min: 0, max: 1 } });
    try {
      await k.raw('DROP TRIGGER IF EXISTS refuse_tool_calls');
      await k.raw(
        `CREATE TRIGGER refuse_tool_calls BEFORE INSERT ON events FOR EACH ROW BEGIN IF NEW.stream LIKE 'toolcall-%' AND NEW.${which} THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused (test)'; END IF; END`,
      );
    } finally {
      await k.destroy();
    }
  }

  before(async function () {
    await requireService(this, 'MariaDB', mysqlAvailable);
    db = await createTestDatabase('omc_mcp_audit_err');
    store = await openSqlEventStore(db.url);
    // The database refuses the tool call's events (a full disk, a lock wait timeout, …), nothing else.
    await refuseToolCallEvents('revision >= 0');
    remote = await startHttpExample();
    gateway = new McpGateway({ store, cacheTtlMs: 0, upstream: { healthIntervalMs: 0 }, logger: { warn: (o, msg) => void warnings.push([o, msg]) } });
    await gateway.registerServer({ ...ctx, name: 'remote', transport: 'http', url: remote.url });
  });
  after(async () => {
    await gateway?.close();
    await remote?.close();
    await store?.close();
    await db?.drop();
  });

  it('answers AUDIT_UNAVAILABLE without the SQL statement or its values, and logs the store error for operators', async () => {
    const err = (await gateway.callTool(ctx, 'remote__echo', { text: 'card 4111-1111' }).then(() => undefined, (e: unknown) => e)) as { code?: string; message: string };
    expect(err?.code).to.equal('AUDIT_UNAVAILABLE');
    expect(err.message).to.match(/^tool call not forwarded: the audit log could not record it/);
    expect(err.message).to.not.match(/insert into|4111-1111/i);
    const logged = warnings.find(([, msg]) => msg?.includes('audit'));
    expect(logged, 'a warning for operators').to.not.equal(undefined);
    expect(String((logged![0] as { err?: Error }).err?.message)).to.include('refused (test)');
    expect(logged![0]).to.deep.include({ tenant: 'acme', server: 'remote', tool: 'echo' });
  });

  it("withholds a result whose outcome it cannot record, saying so without the store's message", async () => {
    await refuseToolCallEvents('revision = 1');
    warnings.length = 0;
    const err = (await gateway.callTool(ctx, 'remote__echo', { text: 'card 4111-1111' }).then(() => undefined, (e: unknown) => e)) as { code?: string; message: string };
    expect(err?.code).to.equal('AUDIT_UNAVAILABLE');
    expect(err.message).to.match(/^tool call outcome could not be recorded; result withheld/).and.not.match(/insert into|4111-1111/i);
    expect(warnings.map(([, msg]) => msg)).to.deep.equal(['mcp gateway: the audit log did not record ToolCallCompleted; its result was withheld']);
  });
});
