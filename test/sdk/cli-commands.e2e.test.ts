import { expect } from 'chai';
import { runEventsTail } from '../../src/cli/events';
import { runKeysCreate, runKeysList, runKeysRevoke } from '../../src/cli/keys';
import { runTasksList, runTasksShow } from '../../src/cli/tasks';
import { ensureAdminKey } from '../../src/auth/ensure-admin-key';
import { clientFromEnvironment } from '../../src/sdk/from-env';
import { makeHarness, type Harness } from '../api/support/harness';
import type { OpenMcpClient } from '../../src/sdk/client';

describe('CLI commands (tasks, events, keys) through the SDK against a listening server', function () {
  this.timeout(20_000);
  let h: Harness;
  let client: OpenMcpClient;
  let url: string;
  let lines: string[];
  const out = (l: string) => lines.push(l);

  before(async () => {
    h = await makeHarness();
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const { key } = await ensureAdminKey({ OPENMCP_ADMIN_KEY: 'cli-test-bootstrap-admin-key', dataDir: '/nonexistent' }, h.keys);
    client = clientFromEnvironment({ env: { OPENMCP_URL: url, OPENMCP_API_KEY: key } });
    for (let i = 0; i < 3; i++) await client.tasks.submit({ instruction: `task ${i}`, agentId: 'cli' });
  });
  beforeEach(() => (lines = []));
  after(() => h.close());

  it('a gateway it cannot reach: exit 1, the error, and how to point the CLI at the right address (OPENMCP_URL)', async () => {
    const lines: string[] = [];
    const nowhere = clientFromEnvironment({ env: { OPENMCP_URL: 'http://127.0.0.1:9', OPENMCP_API_KEY: 'omk_whatever_whatever' } });
    expect(await runTasksList(nowhere, {}, (l) => lines.push(l))).to.equal(1);
    expect(lines[0]).to.match(/^error SDK_CONNECTION_FAILED: cannot reach http:\/\/127\.0\.0\.1:9/);
    expect(lines[1]).to.include('OPENMCP_URL');
  });

  it('tasks list prints a table (and JSON lines with --json); --all follows pages', async () => {
    expect(await runTasksList(client, { agentId: 'cli', limit: 2 }, out)).to.equal(0);
    expect(lines.join('\n')).to.match(/submitted/);
    expect(lines.at(-1)).to.match(/^2 task\(s\); more with --cursor /);
    lines = [];
    expect(await runTasksList(client, { agentId: 'cli', limit: 2, all: true, json: true }, out)).to.equal(0);
    expect(lines.map((l) => JSON.parse(l).agentId)).to.deep.equal(['cli', 'cli', 'cli']);
  });

  it('tasks show prints the task; an unknown id exits 1 naming the code', async () => {
    const id = (await client.tasks.list({ agentId: 'cli' })).items[0].id;
    expect(await runTasksShow(client, id, {}, out)).to.equal(0);
    expect(lines[0]).to.include(id);
    lines = [];
    expect(await runTasksShow(client, '01900000-0000-7000-8000-000000000000', {}, out)).to.equal(1);
    expect(lines[0]).to.match(/^error NOT_FOUND: /);
  });

  it('events tail prints the log and, with --follow, new events until aborted', async () => {
    expect(await runEventsTail(client, { type: 'TaskSubmitted' }, out)).to.equal(0);
    expect(lines).to.have.length(3);
    lines = [];
    const ac = new AbortController();
    const after = (await client.events.list({ limit: 1000 })).items.at(-1)!.position;
    const tail = runEventsTail(client, { after, follow: true, intervalMs: 20, signal: ac.signal }, out);
    await client.tasks.submit({ instruction: 'late' });
    for (let i = 0; i < 100 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    expect(await tail).to.equal(0);
    expect(lines[0]).to.match(/\tTaskSubmitted\ttask-/);
  });

  it('keys create prints the key once; list never shows it; revoke works', async () => {
    expect(await runKeysCreate(client, { role: 'viewer', tenant: 'acme', name: 'cli' }, out)).to.equal(0);
    const key = lines[0];
    expect(key).to.match(/^omk_/);
    const id = /^id (\S+)/.exec(lines[1])![1];
    lines = [];
    expect(await runKeysList(client, {}, out)).to.equal(0);
    expect(lines.join('\n')).to.include(id.slice(0, 8));
    expect(lines.join('\n')).not.to.include(key);
    lines = [];
    expect(await runKeysRevoke(client, id, out)).to.equal(0);
    expect(await runKeysRevoke(client, id, out)).to.equal(1);
    expect(lines[1]).to.match(/^error INVALID_TRANSITION/);
  });

  it('keys create --agent limits the key to those agents: printed, listed, and enforced', async () => {
    expect(await runKeysCreate(client, { role: 'agent', tenant: 'acme', agents: ['billing-bot', 'billing-2'] }, out)).to.equal(0);
    expect(lines[1]).to.include('agents billing-bot, billing-2');
    const id = /^id (\S+)/.exec(lines[1])![1];
    const limited = clientFromEnvironment({ env: { OPENMCP_URL: url, OPENMCP_API_KEY: lines[0] } });
    lines = [];
    expect(await runKeysList(client, { tenant: 'acme' }, out)).to.equal(0);
    const row = lines.join('\n').split('\n').find((l) => l.includes(id));
    expect(row).to.include('billing-bot, billing-2');
    const refused = await limited.tasks.submit({ instruction: 'x', agentId: 'ops-bot' }).catch((e) => e);
    expect(refused).to.include({ code: 'AGENT_NOT_ALLOWED', status: 403 });
    lines = [];
    expect(await runKeysCreate(client, { role: 'viewer', tenant: 'acme', agents: ['billing-bot'] }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error VALIDATION_FAILED/);
  });
});
