import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { openSqlEventStore } from '../../src/eventstore/sql';

const ROOT = join(__dirname, '..', '..');

/** `openmcp mcp stdio` with a real MCP SDK client over a real child process. */
describe('openmcp mcp stdio', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'omc-stdio-'));
  const key = 'local-stdio-admin-key-0123456789';
  after(() => rmSync(dir, { recursive: true, force: true }));

  function client(apiKey: string) {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [join(ROOT, 'bin', 'openmcp'), 'mcp', 'stdio'],
      cwd: ROOT,
      env: { ...(process.env as Record<string, string>), DATA_DIR: dir, OPENMCP_ADMIN_KEY: key, OPENMCP_API_KEY: apiKey, LOG_LEVEL: 'error' },
      stderr: 'pipe',
    });
    return { transport, client: new Client({ name: 'stdio-test', version: '1.0.0' }) };
  }

  it('lists the aggregated tools, forwards a call and records it in the log', async () => {
    const { transport, client: c } = client(key);
    await c.connect(transport);
    try {
      // The call first: on this first start it waits for examples' registration, which a listing
      // waits for only briefly (LISTING_HOLD_MS); then the listing has its tools.
      const res = await c.callTool({ name: 'examples__echo', arguments: { text: 'héllo' } });
      expect(JSON.stringify(res.content)).to.include('héllo');
      const { tools } = await c.listTools();
      expect(tools.map((t) => t.name)).to.include('examples__echo');
    } finally {
      await c.close();
    }
    const store = await openSqlEventStore(`sqlite:${join(dir, 'openmcp.db')}`);
    try {
      const types = (await store.readAll({ limit: 1000 })).map((e) => e.type);
      expect(types).to.include('ToolCallRequested').and.include('ToolCallCompleted');
    } finally {
      await store.close();
    }
  });

  it('refuses to start with a key it does not know', async () => {
    const { transport, client: c } = client('omk_not-a-real-key-000000000000');
    const err = await c.connect(transport).then(() => null, (e: Error) => e);
    expect(err, 'connecting must fail').to.be.instanceOf(Error);
  });

  it('exits when its client goes away without a word (end of stdin)', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'openmcp'), 'mcp', 'stdio'], {
      cwd: ROOT,
      env: { ...(process.env as Record<string, string>), DATA_DIR: dir, OPENMCP_ADMIN_KEY: key, OPENMCP_API_KEY: key, LOG_LEVEL: 'error' },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    const exited = once(child, 'exit');
    try {
      const init = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'eof', version: '1' } } };
      child.stdin.write(`${JSON.stringify(init)}\n`);
      let out = '';
      for await (const chunk of child.stdout) if ((out += chunk).includes('"id":1')) break;
      child.stdin.end();
      // A last guard: it exits at once, but its clean-up (the store, the upstreams) is slow under load.
      const [code] = (await Promise.race([exited, new Promise((r) => setTimeout(() => r(['still running']), 60_000))])) as [unknown];
      expect(code, 'exit code').to.equal(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
