import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStores } from '../../src/app/open-stores';
import { generateApiKey } from '../../src/auth/api-key';
import { SqlKeyStore } from '../../src/auth/sql-key-store';
import { loadConfig } from '../../src/config';

const ROOT = join(__dirname, '..', '..');

/**
 * `openmcp mcp stdio`: its stdout IS the MCP channel, so a host that closes it (or dies) has ended
 * the session: the process ends at once with 0, as when the host closes stdin, not serving on
 * into nothing (unlike `openmcp start`, whose stdout carries only logs: start-closed-stdout).
 */
describe('openmcp mcp stdio: the host closes stdout', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'omc-stdio-closed-'));
  const agent = generateApiKey();
  const env = { DATA_DIR: dir, OPENMCP_ADMIN_KEY: 'local-stdio-admin-key-0123456789', LOG_LEVEL: 'info', OPENMCP_EXAMPLES: 'off' };

  before(async () => {
    const stores = await openStores(loadConfig(env));
    try {
      await new SqlKeyStore(stores.knex).insert({
        id: '01900000-0000-7000-8000-00000000000d', tenant: 'acme', crossTenant: false, createdAt: new Date().toISOString(), createdBy: 'test', role: 'agent', prefix: agent.prefix, hash: agent.hash,
      });
    } finally {
      await stores.close();
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ends with 0, quietly, at its first answer into the closed stdout, stdin still open', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'openmcp'), 'mcp', 'stdio'], {
      cwd: ROOT,
      env: { ...process.env, ...env, OPENMCP_API_KEY: agent.key, OPENMCP_CONFIG: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
    child.stdin.write(`${JSON.stringify(init)}\n`);
    // Bounded: a process that serves on into nothing is killed, and fails the check below.
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    const code = await new Promise<number | string | null>((resolve) => child.on('close', (c, signal) => resolve(c ?? signal)));
    clearTimeout(timer);
    child.stdin.destroy();
    expect(code, stderr).to.equal(0);
    expect(stderr).to.not.match(/EPIPE|at .*\.(ts|js):\d+/);
  });
});
