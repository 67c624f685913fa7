/**
 * How long `openmcp mcp stdio` takes, from its spawn, to answer an MCP host's `initialize` and
 * its first `tools/list`, against starting the `openmcp` command at all (`--version`) and Node
 * itself (`node -e 0`), measured in the same run.
 *
 *   npx tsx bench/run.ts stdio-start [rounds=5]
 *
 * An MCP host (Claude Desktop, an IDE, the SDK's clients) starts the server per session and may
 * give up on a slow initialize. Setup: a fresh DATA_DIR migrated and holding an agent key, the
 * bundled examples server registered by one unmeasured session (which also fills tsx's transpile
 * cache, as any earlier start would). Each round spawns the command once per row, alternating;
 * times are the medians over the rounds, with the child's CPU (user + system, from /proc, in
 * 10 ms ticks) up to the initialize answer, less sensitive than wall time to a loaded machine.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { openStores } from '../src/app/open-stores';
import { generateApiKey } from '../src/auth/api-key';
import { SqlKeyStore } from '../src/auth/sql-key-store';
import { loadConfig } from '../src/config';
import { printTable } from './stats';

const ROUNDS = Number(process.argv[2] ?? 5);
const BIN = join(__dirname, '..', 'bin', 'openmcp');

/** CPU time of a running process so far (utime + stime), ms; undefined where /proc is not. */
function cpuMs(pid: number | null | undefined): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** Wall time of a command run to its exit, ms. */
function timeExit(args: string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - t0) / 1e6) : reject(new Error(`${args.join(' ')} exited ${code}`))));
  });
}

type StdioRun = { initialize: number; toolsList: number; cpu: number | undefined; tools: number };

async function timeStdio(dataDir: string, key: string): Promise<StdioRun> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', 'stdio'],
    cwd: tmpdir(),
    env: { ...(process.env as Record<string, string>), DATA_DIR: dataDir, OPENMCP_API_KEY: key, LOG_LEVEL: 'error' },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'stdio-start-bench', version: '1.0.0' });
  const t0 = process.hrtime.bigint();
  await client.connect(transport);
  const initialize = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = cpuMs(transport.pid);
  const { tools } = await client.listTools();
  const toolsList = Number(process.hrtime.bigint() - t0) / 1e6;
  await client.close();
  return { initialize, toolsList, cpu, tools: tools.length };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'omc-stdio-start-bench-'));
  try {
    const agent = generateApiKey();
    const stores = await openStores(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'error' }));
    try {
      await new SqlKeyStore(stores.knex).insert({
        id: '01900000-0000-7000-8000-0000000000b5', tenant: 'acme', crossTenant: false, createdAt: new Date().toISOString(), createdBy: 'bench', role: 'agent', prefix: agent.prefix, hash: agent.hash,
      });
    } finally {
      await stores.close();
    }
    const first = await timeStdio(dataDir, agent.key);
    if (first.tools === 0) throw new Error('the unmeasured first session listed no tools');
    const node: number[] = [];
    const version: number[] = [];
    const stdio: StdioRun[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      node.push(await timeExit(['-e', '0']));
      version.push(await timeExit([BIN, '--version']));
      stdio.push(await timeStdio(dataDir, agent.key));
    }
    const base = median(version);
    const cpus = stdio.map((s) => s.cpu).filter((c): c is number => c !== undefined);
    printTable([
      { path: 'node -e 0', ms: median(node), ratio: median(node) / base },
      { path: 'openmcp --version (the baseline)', ms: base, ratio: 1 },
      { path: 'mcp stdio: initialize answered', ms: median(stdio.map((s) => s.initialize)), ratio: median(stdio.map((s) => s.initialize)) / base },
      { path: 'mcp stdio: first tools/list answered', ms: median(stdio.map((s) => s.toolsList)), ratio: median(stdio.map((s) => s.toolsList)) / base },
    ]);
    if (cpus.length) console.log(`mcp stdio: its CPU until initialize was answered, median ${median(cpus)} ms (${cpus.join(', ')})`);
    console.log(`tools listed: ${stdio[0].tools}; load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
