import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startHttpExample, type HttpExample } from '../../examples/mcp-http/server';
import { startBearerUpstream } from '../mcp/support/bearer-upstream';
import { startBehaviourUpstream } from '../mcp/support/behaviour-upstream';
import { aliasToolName } from '../../src/core/tool-name';
import { registrationOf, runMcpServersAdd, runMcpServersList, runMcpServersRemove, runToolsSearch } from '../../src/cli/mcp-servers';
import { UsageError } from '../../src/cli/usage-error';
import type { McpGateway } from '../../src/mcp/gateway';
import { EXAMPLES_STDIO_SERVER } from '../../src/mcp/examples-server';
import { clientFromEnvironment } from '../../src/sdk/from-env';
import type { OpenMcpClient } from '../../src/sdk/client';
import { makeGatewayHarness } from '../api/support/gateway-harness';
import type { Harness } from '../api/support/harness';
import { openmcpInProcess } from '../support/openmcp-in-process';

const run = promisify(execFile);
const OPENMCP = join(__dirname, '..', '..', 'bin', 'openmcp');

describe('CLI: openmcp mcp servers add|list|remove and mcp tools search (real gateway, real upstreams)', function () {
  this.timeout(60_000);
  let h: Harness;
  let gw: McpGateway;
  let close: () => Promise<void>;
  let upstream: HttpExample;
  let url: string;
  const keys: Record<string, string> = {};
  const as = (role: string): OpenMcpClient => clientFromEnvironment({ env: { OPENMCP_URL: url, OPENMCP_API_KEY: keys[role] } });
  let lines: string[];
  const out = (l: string) => lines.push(l);
  beforeEach(() => (lines = []));

  before(async () => {
    upstream = await startHttpExample();
    ({ h, gw, close } = await makeGatewayHarness({}, 10_000));
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    for (const role of ['admin', 'operator', 'viewer'] as const) keys[role] = (await h.key(role, 'acme', role === 'admin')).key; // stdio and internal URLs: cross-tenant admins
  });
  after(async () => {
    await close?.();
    await upstream?.close();
  });

  it('builds the registration from the command line, and refuses what cannot be one with the reason', () => {
    expect(registrationOf('files', { command: ['npx', '-y', 'pkg', '/srv'], env: ['TOKEN=${env:GH_TOKEN}', 'DSN=pg://a:${env:PG}@db?x=1'] })).to.deep.equal({
      name: 'files',
      transport: 'stdio',
      command: 'npx',
      args: ['-y', 'pkg', '/srv'],
      env: { TOKEN: '${env:GH_TOKEN}', DSN: 'pg://a:${env:PG}@db?x=1' },
    });
    // A value as such would be lost at the gateway's next restart; also what double quotes leave of a reference.
    expect(() => registrationOf('x', { command: ['a'], env: ['ROOT=/srv'] })).to.throw(/--env ROOT: give the value by reference .*in single quotes: --env 'ROOT=\$\{env:ROOT\}'/);
    expect(() => registrationOf('x', { command: ['a'], env: ['TOKEN='] })).to.throw(/by reference/);
    expect(registrationOf('remote', { url: 'http://h/mcp' })).to.deep.equal({ name: 'remote', transport: 'http', url: 'http://h/mcp' });
    expect(registrationOf('old', { url: 'http://h/sse', transport: 'sse', command: [] })).to.deep.include({ transport: 'sse' });
    expect(() => registrationOf('x', {})).to.throw(/a command after --.*or --url/);
    expect(() => registrationOf('x', { command: ['a'], url: 'http://h' })).to.throw(/not both/);
    expect(() => registrationOf('x', { command: ['a'], env: ['NOEQUALS'] })).to.throw(/KEY=VALUE/);
    expect(() => registrationOf('x', { url: 'http://h', env: ['A=${env:A}'] })).to.throw(/--env is for stdio/);
    expect(() => registrationOf('x', { command: ['a'], transport: 'sse' })).to.throw(/needs --url/);
    expect(registrationOf('slow', { url: 'http://h/mcp', timeoutMs: 120_000, maxConcurrent: 2 })).to.deep.equal({
      name: 'slow',
      transport: 'http',
      url: 'http://h/mcp',
      timeoutMs: 120_000,
      maxConcurrent: 2,
    });
    expect(registrationOf('hosted', { url: 'http://h/mcp', header: ['Authorization: Bearer ${env:TOKEN}', 'X-Api-Key:${env:KEY}'] })).to.deep.equal({
      name: 'hosted',
      transport: 'http',
      url: 'http://h/mcp',
      headers: { Authorization: 'Bearer ${env:TOKEN}', 'X-Api-Key': '${env:KEY}' },
    });
    // What double quotes leave of 'Bearer ${env:TOKEN}' in a shell: no reference, so no secret is logged by mistake.
    expect(() => registrationOf('x', { url: 'http://h', header: ['Authorization: Bearer '] })).to.throw(/by reference .*in single quotes/);
    expect(() => registrationOf('x', { url: 'http://h', header: ['Authorization'] })).to.throw(/'Name: value'/);
    expect(() => registrationOf('x', { command: ['a'], header: ['A: ${env:X}'] })).to.throw(/--header is for servers given by --url/);
  });

  it('adds an HTTP upstream (admin: it listens on 127.0.0.1), lists it with its tools, finds its tools, removes it by id, another by name', async () => {
    expect(await runMcpServersAdd(as('admin'), 'remote', { url: upstream.url }, out), lines.join('\n')).to.equal(0);
    const id = /id (\S+)/.exec(lines[0])![1];
    expect(lines[0]).to.match(/^registered remote \(http\)/).and.match(/\d+ tool\(s\)/);

    lines = [];
    expect(await runMcpServersList(as('viewer'), {}, out)).to.equal(0);
    expect(lines.join('\n')).to.include(id).and.include('remote');
    lines = [];
    expect(await runMcpServersList(as('viewer'), { json: true }, out)).to.equal(0);
    expect(lines.map((l) => JSON.parse(l).id)).to.include(id);

    lines = [];
    expect(await runToolsSearch(as('viewer'), 'echo the text back', { k: 3, json: true }, out)).to.equal(0);
    expect(lines.map((l) => JSON.parse(l).name)).to.include('remote__echo');

    lines = [];
    expect(await runToolsSearch(as('viewer'), 'zqxj', {}, out)).to.equal(0);
    expect(lines, 'an empty table said nothing').to.deep.equal(['no tool matches "zqxj" (openmcp mcp servers list shows the servers registered for your tenant)']);

    lines = [];
    // The id in capitals, as the API takes it (a UUID's case is no part of it).
    expect(await runMcpServersRemove(as('operator'), id.toUpperCase(), out)).to.equal(0);
    // By id as by name: the server's name and its id (by id it printed the id alone).
    expect(lines).to.deep.equal([`removed remote (${id})`]);
    lines = [];
    expect(await runMcpServersList(as('viewer'), { json: true }, out)).to.equal(0);
    expect(lines.map((l) => JSON.parse(l).id)).not.to.include(id);
    // Removed already: said so (exit 1, as revoking a revoked key), not "not found" as a typo is.
    lines = [];
    expect(await runMcpServersRemove(as('operator'), id, out)).to.equal(1);
    expect(lines).to.deep.equal([`error INVALID_TRANSITION: MCP server remote (${id}) is removed already`]);

    lines = [];
    expect(await runMcpServersAdd(as('admin'), 'named', { url: upstream.url }, out)).to.equal(0);
    const named = /id (\S+)/.exec(lines[0])![1];
    lines = [];
    expect(await runMcpServersRemove(as('operator'), 'named', out), lines.join('\n')).to.equal(0);
    expect(lines).to.deep.equal([`removed named (${named})`]);
    // Again by name: the answer says a removed server is not listed (a bare "MCP server named not found" read as a typo).
    lines = [];
    expect(await runMcpServersRemove(as('operator'), 'named', out)).to.equal(1);
    expect(lines).to.deep.equal(['error NOT_FOUND: no MCP server named named for your tenant (removed ones are not listed: openmcp mcp servers list shows the others)']);
  });

  it('says why a server is down, when it is added and in the list (the API has the reason: the CLI showed a bare "down")', async () => {
    expect(await runMcpServersAdd(as('admin'), 'nowhere', { url: 'http://127.0.0.1:1/mcp' }, out)).to.equal(0);
    const added = lines[0];
    lines = [];
    expect(await runMcpServersList(as('viewer'), { json: true }, out)).to.equal(0);
    const reason = lines.map((l) => JSON.parse(l)).find((x: { name: string }) => x.name === 'nowhere').healthReason as string;
    expect(reason).to.be.a('string').and.not.equal('');
    expect(added).to.include(`down (${reason})`);
    lines = [];
    expect(await runMcpServersList(as('viewer'), {}, out)).to.equal(0);
    // The table wraps the reason over lines of its column (the fifth): join that column's lines.
    const healthColumn = lines.join('\n').split('\n').map((l) => l.split('│')[5]?.trim() ?? '').filter(Boolean).join(' ');
    expect(healthColumn).to.include(`down: ${reason}`);
    lines = [];
    expect(await runMcpServersRemove(as('admin'), 'nowhere', out)).to.equal(0);
  });

  it('mcp tools search shows the name a client must call (the host-safe alias) and the upstream\'s own name; the alias calls the tool', async () => {
    const odd = await startBehaviourUpstream();
    const warn = console.warn;
    // The upstream's SDK warns of names outside MCP's recommended format: they are what this test is about.
    console.warn = () => {};
    try {
      odd.addTool('files.read');
      expect(await runMcpServersAdd(as('admin'), 'odd', { url: odd.url }, out), lines.join('\n')).to.equal(0);
      const alias = aliasToolName('odd', 'files.read');
      lines = [];
      expect(await runToolsSearch(as('viewer'), 'files.read added later', { k: 50, json: true }, out)).to.equal(0);
      expect(lines.map((l) => JSON.parse(l)).find((t: { tool?: string }) => t.tool === 'files.read')).to.deep.include({ name: alias, server: 'odd' });
      lines = [];
      expect(await runToolsSearch(as('viewer'), 'files.read added later', { k: 50 }, out)).to.equal(0);
      const table = lines.join('\n');
      expect(table).to.include('call as');
      const row = table.split('\n').find((l) => l.includes(alias));
      expect(row, table).to.be.a('string');
      // The upstream's exact name is on the alias's row, in its own column: not to be called, but recognised.
      expect(row!.split('│').map((c) => c.trim())).to.include.members([alias, 'odd', 'files.read']);
      const called = await gw.callTool({ tenant: 'acme', actor: { kind: 'user', id: 'cli' } }, alias, {});
      expect(called.content).to.deep.equal([{ type: 'text', text: 'files.read' }]);
      lines = [];
      expect(await runMcpServersRemove(as('admin'), 'odd', out)).to.equal(0);
    } finally {
      console.warn = warn;
      await odd.close();
    }
  });

  it('exits 1 with the error code: a stdio server from a non-admin key, a viewer adding, a missing server', async () => {
    expect(await runMcpServersAdd(as('operator'), 'local', { command: [process.execPath, EXAMPLES_STDIO_SERVER] }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error FORBIDDEN: .*admins only/);
    lines = [];
    expect(await runMcpServersAdd(as('viewer'), 'remote2', { url: upstream.url }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error FORBIDDEN/);
    lines = [];
    expect(await runMcpServersAdd(as('operator'), 'inside', { url: upstream.url }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error FORBIDDEN: .*internal address/);
    lines = [];
    expect(await runMcpServersRemove(as('operator'), 'no-such-server', out)).to.equal(1);
    expect(lines[0]).to.match(/^error NOT_FOUND/);
    lines = [];
    // Neither a command nor --url: a command line it cannot run (UsageError, exit 2 from the CLI), nothing sent.
    const refused = await runMcpServersAdd(as('admin'), 'x', {}, out).then(() => undefined, (e: unknown) => e);
    expect(refused).to.be.instanceOf(UsageError);
    expect(lines).to.deep.equal([]);
  });

  // The command lines of `openmcp mcp servers`, run in process (test/support/openmcp-in-process.ts):
  // what they send and print. The two tests after them add a server with bin/openmcp, a process
  // without the gateway's variable.
  const openmcp = (...args: string[]) => openmcpInProcess(args, { OPENMCP_URL: url, OPENMCP_API_KEY: keys.admin });

  it('the command line: `openmcp mcp servers add NAME -- COMMAND ARGS…` registers a stdio server (admin), options after -- belong to the server', async () => {
    const added = await openmcp('mcp', 'servers', 'add', 'local', '--', process.execPath, '--require', require.resolve('tsx/cjs'), EXAMPLES_STDIO_SERVER);
    expect(added.status, added.stderr).to.equal(0);
    expect(added.stdout).to.match(/^registered local \(stdio\)\s+id \S+/);
    const listed = await openmcp('mcp', 'servers', 'list', '--json');
    expect(listed.status, listed.stderr).to.equal(0);
    const local = listed.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((s: { name: string }) => s.name === 'local');
    expect(local).to.include({ transport: 'stdio' });
    expect(gw.listTools('acme').map((t) => t.name)).to.include('local__echo');
    const failed = await openmcp('mcp', 'servers', 'add', 'broken');
    expect(failed.status, 'a command line it cannot run, as a parser refusal').to.equal(2);
    expect(failed.stderr).to.match(/^error: give the server: a command after --/m).and.include('Usage: openmcp mcp servers add');
  });

  it("the command line: --timeout-ms and --max-concurrent set the server's own limits, shown by list; a bad value exits 2 (a command line it cannot run) naming the option", async () => {
    const added = await openmcp('mcp', 'servers', 'add', 'patient', '--url', upstream.url, '--timeout-ms', '120000', '--max-concurrent', '2');
    expect(added.status, added.stderr).to.equal(0);
    expect(added.stdout).to.match(/^registered patient \(http\).*timeout 120000 ms, 2 in flight/);
    const listed = await openmcp('mcp', 'servers', 'list');
    expect(listed.stdout).to.match(/patient.*timeout 120000 ms, 2 in flight/);
    expect(gw.listServers('acme').find((s) => s.name === 'patient')?.limits).to.deep.equal({ timeoutMs: 120_000, maxConcurrent: 2 });
    const bad = await openmcp('mcp', 'servers', 'add', 'odd', '--url', upstream.url, '--timeout-ms', '30s');
    expect(bad.status).to.equal(2);
    expect(bad.stderr).to.match(/--timeout-ms takes a whole number/);
    expect(gw.listServers('acme').map((s) => s.name)).not.to.include('odd');
  });

  it("the command line: --connect-timeout-ms sets the server's own connect timeout, shown by add and list; outside 1000 to 300000 it exits 2 naming the option and the bounds, nothing registered", async () => {
    const added = await openmcp('mcp', 'servers', 'add', 'starter', '--url', upstream.url, '--connect-timeout-ms', '60000', '--max-concurrent', '2');
    expect(added.status, added.stderr).to.equal(0);
    expect(added.stdout).to.match(/^registered starter \(http\).*connect timeout 60000 ms, 2 in flight/);
    const listed = await openmcp('mcp', 'servers', 'list');
    expect(listed.stdout).to.match(/starter.*connect timeout 60000 ms, 2 in flight/);
    expect(gw.listServers('acme').find((s) => s.name === 'starter')?.limits).to.deep.equal({ connectTimeoutMs: 60_000, maxConcurrent: 2 });
    for (const value of ['999', '300001', '10s']) {
      const bad = await openmcp('mcp', 'servers', 'add', 'odd', '--url', upstream.url, '--connect-timeout-ms', value);
      expect(bad.status, value).to.equal(2);
      expect(bad.stderr, value).to.match(/--connect-timeout-ms takes a whole number from 1000 to 300000 \(ms, 1 s to 5 min\)/);
    }
    expect(gw.listServers('acme').map((s) => s.name)).not.to.include('odd');
  });

  it("the real command: --header 'Authorization: Bearer ${env:VAR}' authenticates to the upstream from the gateway's environment; the output names the header, never the value", async () => {
    const secret = `sk-cli-${Math.random().toString(36).slice(2)}`;
    const variable = `OMC_TEST_CLI_TOKEN_${process.pid}`;
    const hosted = await startBearerUpstream('Authorization', `Bearer ${secret}`);
    // The gateway (this process) has the variable; the CLI process does not need it.
    process.env[variable] = secret;
    try {
      const env = { ...process.env, OPENMCP_URL: url, OPENMCP_API_KEY: keys.admin, [variable]: '' };
      const added = await run(process.execPath, [OPENMCP, 'mcp', 'servers', 'add', 'hosted', '--url', hosted.url, '--header', `Authorization: Bearer \${env:${variable}}`], { env });
      expect(added.stdout).to.match(/^registered hosted \(http\).*up.*tool\(s\).*headers Authorization/);
      expect(added.stdout).to.not.include(secret);
      expect(gw.listTools('acme').map((t) => t.name)).to.include('hosted__echo');
      expect(hosted.requests.length).to.be.greaterThan(0);
      expect(hosted.requests.filter((q) => !q.authorized)).to.deep.equal([]);
      // In process, where the variable is set: the list shows the reference the gateway keeps, still not the value.
      const listed = await openmcp('mcp', 'servers', 'list', '--json');
      expect(listed.stdout).to.include(`"Authorization":"Bearer \${env:${variable}}"`).and.not.include(secret);
    } finally {
      delete process.env[variable];
      await hosted.close();
    }
  });

  it("the real command: --env 'TOKEN=${env:VAR}' -- <stdio server> starts the process with the gateway's variable; the output names the variable, never the value", async () => {
    const secret = `ghp-cli-${Math.random().toString(36).slice(2)}`;
    const variable = `OMC_TEST_CLI_STDIO_TOKEN_${process.pid}`;
    const probe = join(__dirname, '..', 'mcp', 'support', 'env-server.ts');
    process.env[variable] = secret;
    try {
      const env = { ...process.env, OPENMCP_URL: url, OPENMCP_API_KEY: keys.admin, [variable]: '' };
      const argv = [OPENMCP, 'mcp', 'servers', 'add', 'probe', '--env', `TOKEN=\${env:${variable}}`, '--', process.execPath, '--require', require.resolve('tsx/cjs'), probe];
      const added = await run(process.execPath, argv, { env });
      expect(added.stdout).to.match(/^registered probe \(stdio\).*up.*tool\(s\).*env TOKEN/);
      expect(added.stdout).to.not.include(secret);
      const r = await gw.callTool({ tenant: 'acme', actor: { kind: 'user', id: 'test' } }, 'probe__env_digest', { name: 'TOKEN' });
      expect((r.content as { text: string }[])[0].text).to.equal(createHash('sha256').update(secret).digest('hex'));
      // A value as such is refused before anything is sent (in process, as the list after it).
      const literal = await openmcp(...argv.slice(1, 4), 'literal', '--env', `TOKEN=${secret}`, ...argv.slice(6));
      expect(literal.status).to.equal(2);
      expect(literal.stdout + literal.stderr).to.include("--env 'TOKEN=${env:TOKEN}'").and.not.include(secret);
      expect(gw.listServers('acme').map((s) => s.name)).not.to.include('literal');
      const listed = await openmcp('mcp', 'servers', 'list', '--json');
      expect(listed.stdout).to.include(`"env":{"TOKEN":"\${env:${variable}}"}`).and.not.include(secret);
    } finally {
      delete process.env[variable];
    }
  });
});
