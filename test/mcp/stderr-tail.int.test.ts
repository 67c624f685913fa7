import { expect } from 'chai';
import { McpGateway } from '../../src/mcp/gateway';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'test' };
const PASSWORD = 'pw-STDERR-CUT-4711';

/**
 * A stdio server that fails at start often says why a few lines before its last one: `npx` ends
 * with "A complete log of this run can be found in: …", its cause (a package not found, a
 * missing binary) above it. The last few lines are kept (each cut at 300 characters, at most 4),
 * not only the last one; their URLs' credentials are redacted before any cut (cut inside the
 * password, what is left of the URL, `postgres://app:pw-STD`, has no `@` and no valid port, so
 * redaction would no longer find it).
 */
describe("MCP stdio upstream: a failed start's last few stderr lines, not only the last, credentials redacted", function () {
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

  const failing = (name: string, text: string) =>
    gateway.registerServer({ tenant: 'acme', actor, name, transport: 'stdio', command: process.execPath, args: ['-e', `process.stderr.write(${JSON.stringify(text)}, () => process.exit(1))`] });

  it("npx's cause, above its pointer to the log file, is in the health reason (and a call's error)", async () => {
    const s = await failing(
      'npx',
      'npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/@acme%2fno-such-server - Not found\nnpm error A complete log of this run can be found in: /home/u/.npm/_logs/2026-12-06T16_00_00_000Z-debug-0.log\n',
    );
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.include('npm error code E404').and.include('404 Not Found').and.include('A complete log of this run');
  });

  it('at most the last 4 lines, written in pieces that split lines', async () => {
    const text = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n');
    const script = `const t = ${JSON.stringify(text)}; let i = 0; const next = () => i < t.length ? process.stderr.write(t.slice(i, i += 7), next) : process.exit(1); next();`;
    const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'chatty', transport: 'stdio', command: process.execPath, args: ['-e', script] });
    expect(s.health).to.equal('down');
    const stderr = /\(stderr: (.*)\)$/.exec(s.healthReason ?? '')?.[1];
    expect(stderr).to.equal('line 47 | line 48 | line 49 | line 50');
  });

  it("a line too long to keep whole never shows the part it keeps of a URL's credentials", async () => {
    // A token as a URL's password (a JWT runs to a kilobyte): the line is cut inside it, before
    // redaction (which needs the URL whole) could say where the credentials end.
    const token = 'tok' + 'x1Y2'.repeat(400);
    // Written in pieces: what comes after the cut is dropped too, up to the line's end.
    const text = `connecting to postgres://svc:${token}@db.internal:5432/app failed\n`;
    const script = `const t = ${JSON.stringify(text)}; let i = 0; const next = () => i < t.length ? process.stderr.write(t.slice(i, i += 100), next) : process.exit(1); next();`;
    const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'long-dsn', transport: 'stdio', command: process.execPath, args: ['-e', script] });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.include('connecting to');
    expect(s.healthReason).not.to.include('tokx1Y2');
  });

  it("a line too long to keep whole, cut inside a secret of its environment, never shows the part it keeps of it", async () => {
    // The first quote hidden (***) brings what is kept of the second, cut at 1000 characters, within the 300 shown.
    const secret = 'sec' + 'r3tK'.repeat(200);
    // Written in pieces: the second is cut before all of it has come.
    const script = 'const t = `token ${process.env.TOKEN} and again ${process.env.TOKEN}\\n`; let i = 0; const next = () => i < t.length ? process.stderr.write(t.slice(i, i += 100), next) : process.exit(1); next();';
    const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'env-echo', transport: 'stdio', command: process.execPath, args: ['-e', script], env: { TOKEN: secret } });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.include('(stderr: token *** and again');
    expect(s.healthReason).to.not.include(secret.slice(0, 8));
  });

  it('a line cut at 300 characters inside a URL password: neither the recorded health reason nor the event holds any part of it', async () => {
    // The 300th character falls inside the password.
    const head = 'FATAL: ' + 'x'.repeat(300 - 'FATAL: '.length - 'postgres://app:pw-STD'.length);
    const line = `${head}postgres://app:${PASSWORD}@db.internal/app`;
    const script = `process.stderr.write(${JSON.stringify(line + '\n')}, () => process.exit(3))`;
    const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'dsn', transport: 'stdio', command: process.execPath, args: ['-e', script] });
    expect(s.health).to.equal('down');
    expect(s.healthReason).to.include('(stderr: FATAL: xxx');
    expect(s.healthReason).to.not.include('pw-STD');
    const recorded = (await db.store.readAll({ limit: 1000 })).filter((e) => e.type === 'McpServerHealthChanged' && e.stream === `mcpserver-${s.id}`);
    expect(recorded).to.have.length(1);
    expect(JSON.stringify(recorded[0].data)).to.not.include('pw-STD');
  });
});
