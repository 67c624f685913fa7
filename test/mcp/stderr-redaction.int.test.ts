import { expect } from 'chai';
import { McpGateway } from '../../src/mcp/gateway';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'test' };
const PASSWORD = 'pw-STDERR-CUT-4711';

/**
 * A stdio server's last stderr line is cut to 300 characters for errors and health reasons. Its
 * URLs' credentials must be redacted before that cut: cut inside the password, what is left of the
 * URL (`postgres://app:pw-STD`) has no `@` and no valid port, so redaction no longer finds it.
 */
describe("MCP stdio upstream: a long stderr line's URL credentials, cut at 300 characters", function () {
  this.timeout(60_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;

  before(async () => {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { connectTimeoutMs: 10_000, healthIntervalMs: 0, retries: 0, retryBackoffMs: 10 } });
    await gateway.start();
  });
  after(async () => {
    await gateway?.close();
    await db?.cleanup();
  });

  it('the recorded health reason (store) holds no part of the password', async () => {
    // The 300th character falls inside the password.
    const head = 'FATAL: ' + 'x'.repeat(300 - 'FATAL: '.length - 'postgres://app:pw-STD'.length);
    const line = `${head}postgres://app:${PASSWORD}@db.internal/app`;
    const script = `process.stderr.write(${JSON.stringify(line + '\n')}, () => process.exit(3))`;
    const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'dsn', transport: 'stdio', command: process.execPath, args: ['-e', script] });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.include('(stderr: FATAL: xxx');
    expect(s.healthReason).to.not.include('pw-STD');
    const recorded = (await db.store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerHealthChanged');
    expect(recorded).to.have.length(1);
    expect(JSON.stringify(recorded[0].data)).to.not.include('pw-STD');
  });
});
