import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process';

/** `npm start` on the embedded default: no external server, a real child process. */
describe('openmcp start (embedded default)', function () {
  this.timeout(180_000);
  let gw: GatewayProcess | undefined;
  let adminKey = '';

  after(async () => {
    await gw?.stop('SIGKILL');
    if (gw) rmSync(gw.dataDir, { recursive: true, force: true });
  });

  it('comes up with no external server, prints the admin key once and answers /healthz and /readyz', async () => {
    gw = await startGatewayProcess();
    adminKey = readFileSync(join(gw.dataDir, 'admin.key'), 'utf8').trim();
    expect(statSync(join(gw.dataDir, 'admin.key')).mode & 0o777).to.equal(0o600);
    expect(gw.output()).to.include(adminKey);
    const health = await fetch(`${gw.url}/healthz`);
    expect(health.status).to.equal(200);
    const ready = (await (await fetch(`${gw.url}/readyz`)).json()) as { dependencies: { name: string; state: string }[] };
    const names = ready.dependencies.map((d) => d.name).join(', ');
    expect(names).to.match(/event store \(sql:sqlite\)/).and.match(/chain/).and.match(/tool search/);
    expect(ready.dependencies.find((d) => d.name === 'chain')?.state).to.equal('up');
  });

  it('shows a submitted task in GET /v1/tasks/:id right after submission', async () => {
    const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const res = await fetch(`${gw!.url}/v1/tasks`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] }),
    });
    expect(res.status).to.equal(202);
    const { id } = (await res.json()) as { id: string };
    const task = await fetch(`${gw!.url}/v1/tasks/${id}`, { headers: auth });
    expect(task.status).to.equal(200);
    expect(((await task.json()) as { id: string }).id).to.equal(id);
  });

  it('shuts down cleanly on SIGTERM without losing an acknowledged append, and keeps the key on restart', async () => {
    const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${gw!.url}/v1/tasks`, { method: 'POST', headers: auth, body: JSON.stringify({ agentId: `agent-${i}`, steps: [{ tool: 'examples__echo', arguments: { text: String(i) } }] }) });
      expect(r.status).to.equal(202);
      ids.push(((await r.json()) as { id: string }).id);
    }
    expect(await gw!.stop('SIGTERM')).to.equal(0);
    const dir = gw!.dataDir;
    gw = await startGatewayProcess({}, dir);
    expect(gw.output()).to.not.include(adminKey);
    for (const id of ids) {
      const t = await fetch(`${gw.url}/v1/tasks/${id}`, { headers: auth });
      expect(t.status, id).to.equal(200);
    }
  });

  it('refuses a natural-language task with no LLM configured, naming the setting, and appends nothing', async () => {
    const auth = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
    const before = (await (await fetch(`${gw!.url}/v1/events?type=TaskSubmitted&limit=200`, { headers: auth })).json()) as { items: unknown[] };
    const r = await fetch(`${gw!.url}/v1/tasks`, { method: 'POST', headers: auth, body: JSON.stringify({ instruction: 'say hi' }) });
    expect(r.status).to.equal(422);
    expect(r.headers.get('content-type')).to.match(/application\/problem\+json/);
    const problem = (await r.json()) as { code: string; detail: string };
    expect(problem.code).to.equal('LLM_NOT_CONFIGURED');
    expect(problem.detail).to.match(/OPENAI_BASE_URL/);
    const after = (await (await fetch(`${gw!.url}/v1/events?type=TaskSubmitted&limit=200`, { headers: auth })).json()) as { items: unknown[] };
    expect(after.items.length).to.equal(before.items.length);
  });

  // README shows a newcomer's first MCP client; it must run as written, on the port they chose.
  it("runs README's MCP client (`mcp-client.mts`) as written against /mcp", async () => {
    const root = join(__dirname, '..', '..');
    const snippet = /```ts\n([\s\S]*?)```/.exec(readFileSync(join(root, 'README.md'), 'utf8'))?.[1];
    expect(snippet, "README's ```ts block").to.include('StreamableHTTPClientTransport').and.include('localhost:8080/mcp');
    mkdirSync(join(root, 'test-output'), { recursive: true });
    const dir = mkdtempSync(join(root, 'test-output', 'readme-mcp-client-'));
    try {
      writeFileSync(join(dir, 'mcp-client.mts'), snippet!.replace('localhost:8080', `localhost:${new URL(gw!.url).port}`));
      const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'node_modules', 'tsx', 'dist', 'cli.mjs'), 'mcp-client.mts'], {
        cwd: dir,
        env: { ...process.env, KEY: adminKey },
        timeout: 60_000,
      });
      expect(stdout).to.include("'search_tools'").and.include("'examples__echo'").and.include("text: 'hi'");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses to start on a bad setting, naming the variable', async () => {
    const err = await startGatewayProcess({ PORT: 'eighty' }).catch((e: Error) => e);
    expect(err).to.be.instanceOf(Error);
    expect((err as Error).message).to.match(/PORT="eighty"/);
  });
});
