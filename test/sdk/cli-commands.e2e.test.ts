import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runEventsTail } from '../../src/cli/events';
import { runEventsProof } from '../../src/cli/events-proof';
import { runBatchesExport } from '../../src/cli/batches-export';
import { runVerifyBatch } from '../../src/cli/verify-batch';
import { readJsonFile } from '../../src/cli/read-json-file';
import { runKeysCreate, runKeysList, runKeysRevoke, runKeysSetAgents } from '../../src/cli/keys';
import { UsageError } from '../../src/cli/usage-error';
import { runTasksList, runTasksShow } from '../../src/cli/tasks';
import { runToolCallsList, runToolCallsShow } from '../../src/cli/tool-calls';
import { recordCall } from '../support/tool-call-events';
import { ensureAdminKey } from '../../src/auth/ensure-admin-key';
import { clientFromEnvironment } from '../../src/sdk/from-env';
import { makeHarness, type Harness } from '../api/support/harness';
import { OpenMcpClient } from '../../src/sdk/client';
import { until } from '../mcp/support/until';
import { openmcpInProcess } from '../support/openmcp-in-process';

const run = promisify(execFile);
const OPENMCP = join(__dirname, '..', '..', 'bin', 'openmcp');
/**
 * A last guard for a test that runs the real `openmcp` command: each run is a cold start of node
 * and tsx, many seconds on a loaded machine (the suite's 20 s timed out there).
 */
const COMMAND_TEST_TIMEOUT_MS = 180_000;
/** A last guard for a wait on a condition (the read model catching up, a followed tail printing). */
const WAIT_MS = 60_000;

describe('CLI commands (tasks, events, keys) through the SDK against a listening server', function () {
  // Above WAIT_MS, so a wait that gives up says what it waited for.
  this.timeout(2 * WAIT_MS);
  let h: Harness;
  let client: OpenMcpClient;
  let url: string;
  let adminKey: string;
  let lines: string[];
  const out = (l: string) => lines.push(l);

  before(async () => {
    h = await makeHarness();
    url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const { key } = await ensureAdminKey({ OPENMCP_ADMIN_KEY: 'cli-test-bootstrap-admin-key', dataDir: '/nonexistent' }, h.keys);
    adminKey = key;
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

  it('a key the gateway refuses: exit 1, UNAUTHENTICATED, and where the key came from', async () => {
    const lines: string[] = [];
    const wrongKey = clientFromEnvironment({ env: { OPENMCP_URL: url, OPENMCP_ADMIN_KEY: 'omk_not_a_key_of_this_gateway' } });
    expect(await runTasksList(wrongKey, {}, (l) => lines.push(l))).to.equal(1);
    expect(lines[0]).to.match(/^error UNAUTHENTICATED: /);
    expect(lines[1]).to.include('came from OPENMCP_ADMIN_KEY (OPENMCP_API_KEY is not set)');
    const dataDir = mkdtempSync(join(tmpdir(), 'omcp-cli-key-'));
    writeFileSync(join(dataDir, 'admin.key'), 'omk_stale_key_from_an_old_start\n', { mode: 0o600 });
    const fromFile = clientFromEnvironment({ env: { OPENMCP_URL: url }, config: { HOST: '127.0.0.1', PORT: 9, dataDir } });
    lines.length = 0;
    expect(await runTasksList(fromFile, {}, (l) => lines.push(l))).to.equal(1);
    expect(lines[1]).to.include(`came from ${join(dataDir, 'admin.key')}`);
    const none = clientFromEnvironment({ env: { OPENMCP_URL: url } });
    lines.length = 0;
    expect(await runTasksList(none, {}, (l) => lines.push(l))).to.equal(1);
    expect(lines[1]).to.include('came from nowhere');
  });

  it('tasks list prints a table (and JSON lines with --json); --all follows pages', async () => {
    expect(await runTasksList(client, { agentId: 'cli', limit: 2 }, out)).to.equal(0);
    expect(lines.join('\n')).to.match(/submitted/);
    expect(lines.at(-1)).to.match(/^2 task\(s\); more with --cursor /);
    lines = [];
    expect(await runTasksList(client, { agentId: 'cli', limit: 2, all: true, json: true }, out)).to.equal(0);
    expect(lines.map((l) => JSON.parse(l).agentId)).to.deep.equal(['cli', 'cli', 'cli']);
  });

  it('tool-calls list prints a table (and JSON lines with --json) with the filters; --all follows pages; a bad filter exits 1 naming the field', async () => {
    const at = (s: number) => `2026-08-01T00:00:0${s}.000Z`;
    const calls = [
      await recordCall(h.store, { tenant: 'default', server: 'cli', at: at(1) }),
      await recordCall(h.store, { tenant: 'default', server: 'cli', outcome: 'failed', at: at(2) }),
      await recordCall(h.store, { tenant: 'default', server: 'cli', at: at(3) }),
    ];
    const other = await recordCall(h.store, { tenant: 'default', server: 'other', outcome: 'failed', at: at(4) });
    expect(await h.deps.readModels.waitForPosition(other.position, WAIT_MS), 'the read model caught up').to.equal(true);
    expect(await runToolCallsList(client, { server: 'cli', limit: 2 }, out)).to.equal(0);
    expect(lines.join('\n')).to.include('MCP_UPSTREAM_TIMEOUT').and.include(calls[1].id);
    // The server and the tool each in a column of its own; --tool takes the upstream's own name or
    // the name the gateway serves (`cli__echo`, as /mcp shows it), which found nothing before.
    const cells = (line: string) => line.split('│').map((c) => c.trim()).filter(Boolean);
    expect(cells(lines[0].split('\n')[1]).slice(0, 3)).to.deep.equal(['id', 'server', 'tool']);
    expect(cells(lines[0].split('\n').find((l) => l.includes(calls[1].id))!).slice(0, 4)).to.deep.equal([calls[1].id, 'cli', 'echo', 'failed']);
    expect(lines.at(-1)).to.match(/^2 tool call\(s\); more with --cursor /);
    lines = [];
    expect(await runToolCallsList(client, { server: 'cli', limit: 2, all: true, json: true }, out)).to.equal(0);
    expect(lines.map((l) => JSON.parse(l).id)).to.deep.equal(calls.map((c) => c.id).reverse());
    lines = [];
    expect(await runToolCallsList(client, { server: 'cli', status: 'failed', json: true }, out)).to.equal(0);
    expect(lines.map((l) => JSON.parse(l).id)).to.deep.equal([calls[1].id]);
    lines = [];
    expect(await runToolCallsList(client, { tool: 'cli__echo', all: true, json: true }, out)).to.equal(0);
    expect(lines.map((l) => JSON.parse(l).id)).to.deep.equal(calls.map((c) => c.id).reverse());
    lines = [];
    // With another server, the tool's own name of that server (which may hold `__`): none here.
    expect(await runToolCallsList(client, { server: 'other', tool: 'cli__echo', json: true }, out)).to.equal(0);
    expect(lines).to.deep.equal([]);
    lines = [];
    expect(await runToolCallsList(client, { taskId: 'nope' }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error VALIDATION_FAILED: .*taskId/);
  });

  it('tool-calls show prints one call with its hashes and recorded payloads (hash-only: says they were not recorded); --json; an unknown id exits 1 naming the code', async () => {
    const kept = await recordCall(h.store, { tenant: 'default', server: 'show', arguments: { text: 'héllo\u001b[2J' }, result: { content: [{ type: 'text', text: 'ok' }] } });
    const hashed = await recordCall(h.store, { tenant: 'default', server: 'show', policy: 'hash-only', outcome: 'failed' });
    expect(await h.deps.readModels.waitForPosition(hashed.position, WAIT_MS), 'the read model caught up').to.equal(true);
    expect(await runToolCallsShow(client, kept.id, {}, out)).to.equal(0);
    const text = lines.join('\n');
    expect(lines[0]).to.match(new RegExp(`^tool call ${kept.id}  completed  \\(tenant default\\)`));
    expect(text).to.match(/^server show \(\S+\)  tool echo$/m);
    expect(text).to.match(/^arguments hash: 0x[0-9a-f]{64}$/m);
    // The recorded arguments as JSON: the escape character stays escaped, never reaches the terminal.
    expect(text).to.include('arguments: {"text":"héllo\\u001b[2J"}').and.not.include('\u001b');
    expect(text).to.include('result: {"content":[{"text":"ok","type":"text"}]}'); // canonical JSON, as recorded
    lines = [];
    expect(await runToolCallsShow(client, hashed.id, {}, out)).to.equal(0);
    expect(lines.join('\n')).to.include('arguments: Not recorded, only its hash: MCP_PAYLOAD_POLICY=hash-only, more than 256 KiB of JSON, or arguments a model wrote under LLM_REDACTION=hash-only.').and.include('error MCP_UPSTREAM_TIMEOUT: no answer in 30000 ms');
    lines = [];
    expect(await runToolCallsShow(client, kept.id, { json: true }, out)).to.equal(0);
    expect(JSON.parse(lines.join('\n'))).to.include({ id: kept.id, server: 'show', status: 'completed' });
    lines = [];
    expect(await runToolCallsShow(client, '01900000-0000-7000-8000-000000000000', {}, out)).to.equal(1);
    expect(lines[0]).to.match(/^error NOT_FOUND: /);
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
    await until('the followed tail prints the new event', () => lines.length > 0, WAIT_MS);
    ac.abort();
    expect(await tail).to.equal(0);
    expect(lines[0]).to.match(/\tTaskSubmitted\ttask-/);
  });

  it('events proof writes the proof file byte for byte as the server sent it (to --out FILE, else stdout); a batch not anchored yet or an unknown event exits 1 naming the code, and writes no file', async function () {
    this.timeout(COMMAND_TEST_TIMEOUT_MS);
    const e = (await client.events.list({ type: 'TaskSubmitted', limit: 1 })).items[0];
    const dir = mkdtempSync(join(tmpdir(), 'omcp-cli-proof-'));
    const file = join(dir, 'proof.json');
    h.proofs.anchoredBelow = 0;
    expect(await runEventsProof(client, e.id, { out: file }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error PROOF_PENDING: /);
    expect(lines[1]).to.include('not anchored yet').and.include('try again in 7 s');
    expect(existsSync(file), 'no file for an error answer').to.equal(false);
    lines = [];
    expect(await runEventsProof(client, '01900000-0000-7000-8000-000000000000', { out: file }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error NOT_FOUND: /);
    expect(existsSync(file)).to.equal(false);

    h.proofs.anchoredBelow = 1e9;
    const sent = await (await fetch(`${url}/v1/events/${e.id}/proof`, { headers: { authorization: `Bearer ${adminKey}` } })).text();
    lines = [];
    expect(await runEventsProof(client, e.id, { out: file }, out)).to.equal(0);
    expect(readFileSync(file, 'utf8')).to.equal(sent);
    expect(lines.join('\n')).to.include(file).and.include('openmcp verify');
    const read = await readJsonFile(file, { what: 'a proof of one event', tooLarge: '' });
    expect(read.problem).to.equal(undefined);
    let written = '';
    lines = [];
    expect(await runEventsProof(client, e.id, {}, out, (t) => (written += t))).to.equal(0);
    expect(written).to.equal(sent);
    expect(lines, 'nothing but the file on stdout').to.deep.equal([]);
    // Pretty-printed, its keys in another order than the SDK's schema: still saved as it came.
    const pretty = JSON.stringify({ anchor: JSON.parse(sent).anchor, ...JSON.parse(sent) }, null, 1);
    const served = new OpenMcpClient({ baseUrl: 'http://gateway.invalid', fetch: async () => new Response(pretty, { status: 200 }) });
    written = '';
    expect(await runEventsProof(served, e.id, {}, out, (t) => (written += t))).to.equal(0);
    expect(written).to.equal(pretty);

    // The real command, as README and docs/interfaces.md show it.
    const env = { ...process.env, OPENMCP_URL: url, OPENMCP_API_KEY: adminKey };
    const file2 = join(dir, 'proof2.json');
    await run(process.execPath, [OPENMCP, 'events', 'proof', e.id, '--out', file2], { env });
    expect(readFileSync(file2, 'utf8')).to.equal(sent);
    h.proofs.anchoredBelow = 0;
  });

  it('batches export writes the export byte for byte as the server sent it; an unknown batch, or a key that is not cross-tenant, exits 1 naming the code, and writes no file', async function () {
    this.timeout(COMMAND_TEST_TIMEOUT_MS);
    const dir = mkdtempSync(join(tmpdir(), 'omcp-cli-export-'));
    const file = join(dir, 'batch.json');
    expect(await runBatchesExport(client, 5, { out: file }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error NOT_FOUND: /);
    const { key: auditorKey } = await client.keys.create({ role: 'auditor', tenant: 'default' });
    const auditor = clientFromEnvironment({ env: { OPENMCP_URL: url, OPENMCP_API_KEY: auditorKey } });
    lines = [];
    expect(await runBatchesExport(auditor, 0, { out: file }, out)).to.equal(1);
    expect(lines[0]).to.match(/^error FORBIDDEN: /);
    expect(lines[1]).to.include('cross-tenant key');
    expect(existsSync(file)).to.equal(false);

    const sent = await (await fetch(`${url}/v1/batches/0/events`, { headers: { authorization: `Bearer ${adminKey}` } })).text();
    lines = [];
    expect(await runBatchesExport(client, 0, { out: file }, out)).to.equal(0);
    expect(readFileSync(file, 'utf8')).to.equal(sent);
    expect(lines.join('\n')).to.include(file).and.include('openmcp verify-batch 0');
    let written = '';
    lines = [];
    expect(await runBatchesExport(client, 0, {}, out, (t) => (written += t))).to.equal(0);
    expect(written).to.equal(sent);
    expect(lines).to.deep.equal([]);
    const env = { ...process.env, OPENMCP_URL: url, OPENMCP_API_KEY: adminKey };
    await run(process.execPath, [OPENMCP, 'batches', 'export', '0', '--out', join(dir, 'b2.json')], { env });
    expect(readFileSync(join(dir, 'b2.json'), 'utf8')).to.equal(sent);
  });

  // DESIGN.md lists `verify-batch <id>`; it required --file, an export saved first with `batches export`.
  it('verify-batch without a file fetches the export from the gateway, as batches export does, and checks it; one it cannot fetch checks nothing (exit 2)', async () => {
    const NO_CHAIN = 'http://127.0.0.1:1';
    const contract = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
    const sent = (await client.batches.exportFile(0)).export;
    expect(await runVerifyBatch({ batchId: 0, client, rpc: NO_CHAIN, contract, out })).to.equal(1);
    // The checks ran on the export the gateway sent (this harness's batch is made up, its event and
    // signature no sealer's: proofs.int.test.ts passes a real one), and on the chain, which is not there.
    expect(sent.events.length).to.be.greaterThan(0);
    expect(lines[0], lines.join('\n')).to.match(/^[✔✘] event hashes: /).and.include(sent.events[0].id);
    expect(lines.join('\n')).to.match(/no JSON-RPC node answers at http:\/\/127\.0\.0\.1:1\//);
    expect(lines[lines.length - 1]).to.match(/^FAILED: .* \(batch 0\)$/);
    const { key: auditorKey } = await client.keys.create({ role: 'auditor', tenant: 'default' });
    const auditor = clientFromEnvironment({ env: { OPENMCP_URL: url, OPENMCP_API_KEY: auditorKey } });
    lines = [];
    expect(await runVerifyBatch({ batchId: 0, client: auditor, rpc: NO_CHAIN, contract, out })).to.equal(2);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(new RegExp(`^FAILED: cannot fetch the export of batch 0 from ${url.replace(/[.]/g, '\\.')}: FORBIDDEN: .*; use a cross-tenant key \\(such as the bootstrap admin's\\), or give the export with --file$`));
    lines = [];
    expect(await runVerifyBatch({ batchId: 5, client, rpc: NO_CHAIN, contract, out })).to.equal(2);
    expect(lines[0]).to.match(/^FAILED: cannot fetch the export of batch 5 from .*: NOT_FOUND: /);
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

  it('keys set-agents changes the agents of a key in place (--agent A…, or --all for any): printed, listed, enforced at once', async () => {
    expect(await runKeysCreate(client, { role: 'agent', tenant: 'acme', agents: ['billing-bot'] }, out)).to.equal(0);
    const id = /^id (\S+)/.exec(lines[1])![1];
    const limited = clientFromEnvironment({ env: { OPENMCP_URL: url, OPENMCP_API_KEY: lines[0] } });
    expect((await limited.tasks.submit({ instruction: 'x', agentId: 'billing-bot' })).status).to.equal('submitted');

    lines = [];
    expect(await runKeysSetAgents(client, id, { agents: ['ops-bot', 'billing-2'] }, out)).to.equal(0);
    expect(lines).to.deep.equal([`id ${id}  agents ops-bot, billing-2`]);
    expect(await limited.tasks.submit({ instruction: 'x', agentId: 'billing-bot' }).catch((e) => e)).to.include({ code: 'AGENT_NOT_ALLOWED', status: 403 });
    expect((await limited.tasks.submit({ instruction: 'x', agentId: 'ops-bot' })).status).to.equal('submitted');
    lines = [];
    expect(await runKeysList(client, { tenant: 'acme' }, out)).to.equal(0);
    expect(lines.join('\n').split('\n').find((l) => l.includes(id))).to.include('ops-bot, billing-2');

    lines = [];
    expect(await runKeysSetAgents(client, id, { all: true }, out)).to.equal(0);
    expect(lines).to.deep.equal([`id ${id}  agents any (no limit)`]);
    expect((await limited.tasks.submit({ instruction: 'x' })).status).to.equal('submitted');

    lines = [];
    // Neither or both: a command line it cannot run, thrown for the CLI to exit 2 with the command's help (UsageError), nothing sent.
    for (const o of [{}, { all: true, agents: ['x'] }]) {
      const refused = await runKeysSetAgents(client, id, o, out).then(() => undefined, (e: unknown) => e);
      expect(refused).to.be.instanceOf(UsageError);
      expect((refused as Error).message).to.include('--agent').and.to.include('--all');
    }
    expect(await runKeysSetAgents(client, id, { agents: ['*'] }, out)).to.equal(1);
    expect(await runKeysSetAgents(client, '01900000-0000-7000-8000-000000000000', { all: true }, out)).to.equal(1);
    expect(lines.map((l) => l.replace(/:.*/, ''))).to.deep.equal(['error VALIDATION_FAILED', 'error NOT_FOUND']);
    expect((await h.store.readStream(`apikey-${id}`)).map((e) => e.type)).to.deep.equal(['ApiKeyCreated', 'ApiKeyAgentsChanged', 'ApiKeyAgentsChanged']);
  });

  it('the command lines: `openmcp keys set-agents <id> --agent A --agent B` (bin/openmcp), `--all`; both at once is refused', async function () {
    this.timeout(COMMAND_TEST_TIMEOUT_MS);
    const env = { ...process.env, OPENMCP_URL: url, OPENMCP_API_KEY: adminKey };
    const { id } = await client.keys.create({ role: 'agent', tenant: 'acme' });
    const set = await run(process.execPath, [OPENMCP, 'keys', 'set-agents', id, '--agent', 'billing-bot', '--agent', 'ops-bot'], { env });
    expect(set.stdout.trim()).to.equal(`id ${id}  agents billing-bot, ops-bot`);
    expect((await client.keys.list({ tenant: 'acme', limit: 200 })).items.find((k) => k.id === id)?.agents).to.deep.equal(['billing-bot', 'ops-bot']);
    // The other command lines in process (test/support/openmcp-in-process.ts): what they send and print.
    const inProcessEnv = { OPENMCP_URL: url, OPENMCP_API_KEY: adminKey };
    const both = await openmcpInProcess(['keys', 'set-agents', id, '--all', '--agent', 'x'], inProcessEnv);
    // Refused by the parser (options in conflict): a command line the CLI cannot run exits 2.
    expect(both.status).to.equal(2);
    expect(both.stderr).to.match(/--all.*cannot be used with.*--agent|--agent.*cannot be used with.*--all/);
    const all = await openmcpInProcess(['keys', 'set-agents', id, '--all'], inProcessEnv);
    expect(all.status, all.stderr).to.equal(0);
    expect(all.stdout.trim()).to.equal(`id ${id}  agents any (no limit)`);
    expect((await client.keys.list({ tenant: 'acme', limit: 200 })).items.find((k) => k.id === id)).not.to.have.property('agents');
  });
});
