import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option, type CommanderError } from 'commander';
import { rolesProblem } from '../app/roles';
import { addClientCommands, addMcpClientCommands, batchId, CLIENT_SETTINGS_HELP } from './client-commands';
import { fatalErrorText } from './fatal-error-text';
import { UsageError } from './usage-error';
import { maskDebugCredentials } from '../core/mask-debug-credentials';

/**
 * Load a subcommand's module only when it runs: `openmcp verify` must start fast on an auditor's
 * machine without loading the gateway (database drivers, MCP, transformers.js, …).
 */
function load<T>(id: string): T {
  return require(id) as T;
}

/** The configuration (../config, with zod), loaded by the commands that use it: `--help`, `--version` and a refused command line do without. */
function loadConfig(...args: Parameters<typeof import('../config').loadConfig>): ReturnType<typeof import('../config').loadConfig> {
  return load<typeof import('../config')>('../config').loadConfig(...args);
}

/** The `openmcp` command; each subcommand's work lives in its own module in src/cli/. */
export function buildCli(): Command {
  const program = new Command('openmcp')
    .description('OpenMCP-Chain: a verifiable gateway for AI agents and MCP tools')
    .version(packageVersion(), '-V, --version', 'print the version of OpenMCP-Chain (given alone: after a command it is refused)')
    // openmcp's own options (--help, --version) before a command's name, the command's after it:
    // `openmcp verify p.json --version` printed the version with exit 0, read as "verified".
    .enablePositionalOptions()
    // Inherited by every command created below (commander copies these settings to each).
    .exitOverride(unusableCommandLine)
    // The command running, for a command line refused once it ran (usableOrExit).
    .hook('preAction', (_program, command) => void (running = command))
    .configureOutput({ outputError: (message, write) => write(withHint(message)) })
    .showHelpAfterError()
    .addHelpText('after', `${PLACEMENT_HELP}\n${CLIENT_HELP}`);

  program
    .command('start')
    .description('run the gateway on the configured adapters (all roles in one process by default)')
    .option('--roles <list>', 'all, or a comma list of api,gateway,relay,projector,sealer,anchorer,agent (overrides OPENMCP_ROLES)', (spec: string) => {
      // Checked by the parser, naming --roles (exit 2): the configuration would name OPENMCP_ROLES, not set.
      const problem = rolesProblem(spec);
      if (problem) throw new InvalidArgumentError(problem);
      return spec;
    })
    .action(async (o: { roles?: string }) => {
      runsOnWithoutStdout = true;
      const { runStart } = load<typeof import('./start')>('./start');
      await runStart(loadConfig(o.roles ? { ...process.env, OPENMCP_ROLES: o.roles } : process.env));
    });

  program
    .command('verify')
    .description('verify an openmcp-proof/1 file against the on-chain root (needs only the file and an RPC URL)')
    .addHelpText('after', verdictHelp('proof'))
    .argument('<proof.json>', 'the proof file (GET /v1/events/:id/proof)')
    .addOption(rpcOption())
    .addOption(new Option('--contract <address>', 'AuditAnchor address to trust; without it, the one named in the proof, with a warning').env('ANCHOR_CONTRACT'))
    .option('--signer <address>', "the sealer's address to trust (default: the one named in the proof)")
    .option('--event <id>', 'the id of the event the proof must be of (default: any; the first check names the one it proves)')
    .action(async (file: string, o: { rpc?: string; contract?: string; signer?: string; event?: string }) => {
      const chain = verifyChain(o);
      if (!chain) return;
      runsOnWithoutStdout = true;
      const { runVerify } = load<typeof import('./verify')>('./verify');
      process.exitCode = await runVerify({ file, ...chain, signer: o.signer, event: o.event });
    });

  program
    .command('verify-batch')
    .description("re-derive a batch's Merkle root from its exported events and compare it with the chain")
    .addHelpText('after', verdictHelp('export', ' (without --file: could not be\nfetched from the gateway)'))
    .argument('<id>', 'batch id', batchId)
    .option('--file <export.json>', 'the export (GET /v1/batches/:id/events, as `batches export` saves it); without it, fetched from the gateway at OPENMCP_URL with a cross-tenant key, as `batches export` does')
    .addOption(rpcOption())
    .addOption(new Option('--contract <address>', "AuditAnchor address to trust; without it, the export's, with a warning").env('ANCHOR_CONTRACT'))
    .option('--signer <address>', "the sealer's address to trust (default: the one named in the export's batch head)")
    .action(async (id: number, o: { file?: string; rpc?: string; contract?: string; signer?: string }) => {
      const chain = verifyChain(o);
      if (!chain) return;
      // Without a file the export comes from the running gateway, reached as the client commands reach it.
      let client: import('../sdk/client').OpenMcpClient | undefined;
      if (o.file === undefined) {
        try {
          client = load<typeof import('../sdk/from-env')>('../sdk/from-env').clientFromEnvironment({ config: loadConfig() });
        } catch (err) {
          console.error(fatalErrorText(err));
          process.exitCode = 2;
          return;
        }
      }
      runsOnWithoutStdout = true;
      const { runVerifyBatch } = load<typeof import('./verify-batch')>('./verify-batch');
      process.exitCode = await runVerifyBatch({ batchId: id, file: o.file, client, ...chain, signer: o.signer });
    });

  const contracts = program.command('contracts').description('smart contracts');
  contracts
    .command('deploy')
    .description('deploy AuditAnchor to a chain and print ANCHOR_CONTRACT=…')
    .requiredOption('--rpc <url>', 'chain JSON-RPC URL')
    .addOption(new Option('--private-key <hex>', 'deployer key').env('ANCHORER_PRIVATE_KEY'))
    .option('--anchorer <address>', 'address given the anchorer role (default: the deployer)')
    .option('--admin <address>', 'address given the admin role, which grants and revokes anchorers (default: the deployer; use a key the anchorer process does not hold)')
    .option('--admin-delay <duration>', 'how long a new admin waits between `contracts admin begin` and `accept`: seconds, or with s, m, h or d, at most 30d (default: 1d)')
    .addOption(new Option('--confirmations <blocks>', 'blocks the deployment must be deep (its own included) before ANCHOR_CONTRACT is printed: a reorg can drop a shallower one, whose address still comes back; 1 when the variable is not set either').env('CHAIN_CONFIRMATIONS'))
    .action(async (o: { rpc: string; privateKey?: string; anchorer?: string; admin?: string; adminDelay?: string; confirmations?: string }, cmd: Command) => {
      if (!o.privateKey) throw new UsageError('contracts deploy needs --private-key or ANCHORER_PRIVATE_KEY', { field: 'privateKey' });
      // infra/.env.example's placeholder is `0x`, and 0 or the curve order and above pass as hex but
      // fail later with the curve library's stack trace: name the setting, never echo the value.
      const privateKey = load<typeof import('./private-key')>('./private-key').checkedPrivateKey(o.privateKey, 'contracts deploy: --private-key or ANCHORER_PRIVATE_KEY');
      if (o.anchorer !== undefined) requireAddress('--anchorer', o.anchorer);
      // AccessControlDefaultAdminRules reverts the deployment (AccessControlInvalidDefaultAdmin(0)).
      if (o.admin !== undefined) requireAddress('--admin', o.admin, true);
      const { parseAdminDelay, MAX_ADMIN_DELAY_SECONDS } = load<typeof import('../web3/admin-delay')>('../web3/admin-delay');
      const adminDelaySeconds = o.adminDelay === undefined ? undefined : parseAdminDelay(o.adminDelay);
      if (o.adminDelay !== undefined && adminDelaySeconds === undefined) {
        throw new UsageError(`--admin-delay must be seconds, or a whole number with s, m, h or d, at most 30d (${MAX_ADMIN_DELAY_SECONDS} s), got ${o.adminDelay}`, { field: 'adminDelay' });
      }
      // As CHAIN_CONFIRMATIONS reads it: 0 to 64, 0 counting as 1.
      if (o.confirmations !== undefined && !(/^\d+$/.test(o.confirmations) && Number(o.confirmations) <= 64)) {
        const given = cmd.getOptionValueSource('confirmations') === 'env' ? 'CHAIN_CONFIRMATIONS (the default of --confirmations)' : '--confirmations';
        throw new UsageError(`${given} must be a whole number of blocks from 0 to 64 (0 counts as 1), got ${o.confirmations}`, { field: 'confirmations' });
      }
      const { contractsDeploy } = load<typeof import('./contracts-deploy')>('./contracts-deploy');
      await contractsDeploy({ rpc: o.rpc, privateKey, anchorer: o.anchorer, admin: o.admin, adminDelaySeconds, confirmations: o.confirmations === undefined ? undefined : Number(o.confirmations) });
    });

  addContractsAdminCommands(contracts);

  const projections = program.command('projections').description('read models');
  projections
    .command('rebuild')
    .description('rebuild a read model from position 0 into fresh tables and swap them in')
    .argument('<name>', 'tasks | task-steps | tool-calls | mcp-servers | batches | audit-log | subject-events')
    .action(async (name: string) => {
      runsOnWithoutStdout = true;
      const { runRebuild } = load<typeof import('./rebuild')>('./rebuild');
      await runRebuild(loadConfig(), name);
    });

  addClientCommands(program);

  const mcp = program.command('mcp').description('the MCP gateway');
  mcp
    .command('stdio')
    .description('serve the gateway over stdio for a local MCP client (every call audited)')
    .addOption(new Option('--key <api key>', 'API key whose tenant and role the client acts as; never the admin key by default').env('OPENMCP_API_KEY'))
    .addHelpText('after', MCP_STDIO_HELP)
    .action(async (o: { key?: string }) => {
      const { runMcpStdio } = load<typeof import('./mcp-stdio')>('./mcp-stdio');
      await runMcpStdio(loadConfig(), o.key, { ownsStderr: true });
    });
  addMcpClientCommands(mcp);

  sayWhereOptionsGo(program);
  return program;
}

/** What an MCP host (Claude Desktop, Cursor…) must give `openmcp mcp stdio`, with a config to copy. */
const MCP_STDIO_HELP = `
It runs the gateway itself on the running gateway's database, not as a client of its HTTP API:
give it that gateway's DATA_DIR as an absolute path (or its DATABASE_URL), since a host starts it
in a directory of its own, and a key of its own with mcp:call (openmcp keys create --role agent
--tenant T). Its settings are its own (its environment, OPENMCP_CONFIG), not the gateway's: name
the gateway's OPENMCP_CONFIG too (it refuses to start under an MCP_PAYLOAD_POLICY other than the
one the gateway recorded in its database). stdout carries only the protocol; logs go to stderr. An MCP
host's config:

  {"mcpServers": {"openmcp": {"command": "/srv/openmcp-chain/bin/openmcp", "args": ["mcp", "stdio"],
    "env": {"OPENMCP_API_KEY": "omk_…", "DATA_DIR": "/srv/openmcp-chain/data",
      "OPENMCP_CONFIG": "/srv/openmcp-chain/openmcp.yaml"}}}}`;

/** The release a bug report is about (package.json's version). */
function packageVersion(): string {
  return (JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;
}

// Where options go, and what a command line the parser refuses exits with (unusableCommandLine).
const PLACEMENT_HELP = `
A command's options go after its name: openmcp verify proof.json --rpc URL. Before it, openmcp takes
only --help and --version, which run no command. --help after a command prints that command's help
and runs nothing (exit 0); --version after one is refused. A command line openmcp cannot run (an
unknown option or command, a missing argument, an option before the command's name; an option
missing or contradicting another, or a value the command checks itself) exits 2; a failure while
a command runs exits 1.`;

/** Under `verify --help` and `verify-batch --help`: the exit codes an auditor's script reads (docs/proofs.md, §7). */
const verdictHelp = (file: string, fetched = '') => `
Exit code: 0 every check passed; 1 a check failed (the FAILED: line names it); 2 nothing was
checked: the ${file} file could not be read or is not one${fetched}, or the command line is not one it can
run. --help prints this help and checks nothing (exit 0, no verdict); --version is refused here.`;

// Every command but `start`, `verify…`, `contracts`, `projections` and `mcp stdio` is a client of a running
// gateway: a newcomer who started it on another port or DATA_DIR must learn here how to reach it.
const CLIENT_HELP = `
keys, subjects, tasks, tool-calls, events, batches, mcp servers and mcp tools are clients of a running gateway.${CLIENT_SETTINGS_HELP}
So give them the settings you gave \`start\`: after \`PORT=18080 DATA_DIR=/tmp/omc npm start\`,
  PORT=18080 DATA_DIR=/tmp/omc npx openmcp tasks list`;

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function requireAddress(what: string, v: string, nonZero = false): void {
  const zero = ADDRESS.test(v) && nonZero && /^0x0{40}$/.test(v);
  if (!ADDRESS.test(v) || zero) {
    throw new UsageError(`${what} must be ${zero ? 'a non-zero' : 'an'} address (0x and 40 hex digits), got ${v}`, { field: what });
  }
}

/**
 * `openmcp contracts admin status|begin|accept|cancel`: AuditAnchor's admin role moves in two
 * steps with a delay (contracts deployed from release 2026-12-11 on). The key is given on the
 * command line only: ANCHORER_PRIVATE_KEY is the anchorer's, which should not be the admin.
 */
function addContractsAdminCommands(contracts: Command): void {
  const admin = contracts.command('admin').description("AuditAnchor's admin role (grants and revokes anchorers): handed over in two steps, with a delay");
  const target = (cmd: Command) =>
    cmd
      .addOption(new Option('--rpc <url>', 'chain JSON-RPC URL').env('CHAIN_RPC_URL').makeOptionMandatory())
      .addOption(new Option('--contract <address>', 'the AuditAnchor').env('ANCHOR_CONTRACT').makeOptionMandatory());
  // The key: --private-key, or --private-key-file (out of `ps` and the shell's history).
  const key = (cmd: Command, whose: string) =>
    cmd
      .option('--private-key <hex>', `${whose} key (0x and 64 hex digits); seen by \`ps\` and the shell's history: prefer --private-key-file`)
      .option('--private-key-file <path>', `a file holding ${whose} key`);
  type Target = { rpc: string; contract: string };
  type Signed = Target & { privateKey?: string; privateKeyFile?: string };
  const checked = (o: Target) => {
    requireAddress('--contract', o.contract);
    return { rpc: o.rpc, contract: o.contract };
  };
  const signed = (o: Signed, command: string) => {
    const target = checked(o);
    return { ...target, privateKey: load<typeof import('./private-key')>('./private-key').privateKeyFromOptions(o, `contracts admin ${command}`) };
  };
  const run = () => load<typeof import('./contracts-admin')>('./contracts-admin');

  target(admin.command('status').description('the admin, the handover delay, and any handover pending')).action(async (o: Target) => {
    await run().contractsAdminStatus(checked(o));
  });
  key(target(admin.command('begin').description('schedule the handover to <new-admin>, who accepts once the delay is over (run with the admin key)').argument('<new-admin>', 'address of the new admin')), "the admin's").action(
    async (newAdmin: string, o: Signed) => {
      requireAddress('<new-admin>', newAdmin, true);
      await run().contractsAdminBegin({ ...signed(o, 'begin'), newAdmin });
    },
  );
  key(target(admin.command('accept').description('take the admin role handed over to this key, once the delay is over')), "the new admin's").action(async (o: Signed) => {
    await run().contractsAdminAccept(signed(o, 'accept'));
  });
  key(target(admin.command('cancel').description('drop the pending handover (run with the admin key)')), "the admin's").action(async (o: Signed) => {
    await run().contractsAdminCancel(signed(o, 'cancel'));
  });
}

/**
 * A command line the parser refuses (an unknown option or command, a missing argument, an option
 * before the command's name, no command) exits 2 for every command: `verify` and `verify-batch`
 * give 2 to "nothing could be checked" (docs/proofs.md), and 1 to a failed check, as the client
 * commands give 1 to a failed request. Help and version still exit 0. Commander has printed the
 * error already.
 */
function unusableCommandLine(err: CommanderError): never {
  process.exit(err.exitCode === 0 ? 0 : 2);
}

/** The command whose action runs (set before it does), whose help follows a UsageError. */
let running: Command | undefined;

/**
 * A command line the command refused once it ran (UsageError: an option missing that the parser
 * could not require, options that contradict each other, a value it checks itself) exits 2 as the
 * parser's refusals do, in their words: `error: <message>`, then the command's help. Anything
 * else returns: a failure while running (exit 1).
 */
function usableOrExit(err: unknown): void {
  if (err instanceof UsageError && running) running.error(`error: ${err.message}`, { exitCode: 2, code: 'openmcp.usage' });
}

const UNKNOWN_OPTION = /^error: unknown option '([^']+)'/;

/** Commander's error `message`, and for openmcp's own --version given after a command, where it goes. */
function withHint(message: string): string {
  const flag = UNKNOWN_OPTION.exec(message)?.[1];
  return flag === '--version' || flag === '-V' ? `${message}(${flag} is openmcp's own option: give it alone, openmcp --version)\n` : message;
}

/**
 * An option before a command's name (`openmcp --rpc URL verify p.json`, `openmcp tasks --json list`)
 * is refused by the group it was given to (openmcp, tasks, …), whose only options are --help and
 * openmcp's --version: the error says where it goes. Set on each group once its commands are made
 * (commander copies output settings to a command when it is created, so these are not inherited).
 */
function sayWhereOptionsGo(group: Command, path = group.name()): void {
  if (group.commands.length === 0) return;
  group.configureOutput({
    outputError: (message, write) => {
      const flag = UNKNOWN_OPTION.exec(message)?.[1];
      if (!flag || flag === '--version' || flag === '-V') return write(withHint(message));
      // The command named further on (`tasks list` of `openmcp --json tasks list`).
      const names = [path];
      let at = group;
      for (const arg of group.args) {
        const sub = at.commands.find((c) => c.name() === arg);
        if (!sub) continue;
        names.push(arg);
        at = sub;
      }
      if (at === group) names.push('<command>');
      write(`${message}(a command's options go after its name: ${names.join(' ')} ${flag} …)\n`);
    },
  });
  for (const c of group.commands) sayWhereOptionsGo(c, `${path} ${c.name()}`);
}

/**
 * `--rpc` of the verifications. Its default is resolved when the command runs (verifyDefaults: the
 * environment, else the OPENMCP_CONFIG file), never while the CLI is built, so `--help` reads no file;
 * the help says where it comes from rather than the URL it resolves to.
 */
function rpcOption(): Option {
  return new Option('--rpc <url>', 'chain JSON-RPC URL (default: CHAIN_RPC_URL, else the local chain on CHAIN_PORT; from the environment, else OPENMCP_CONFIG)');
}

/**
 * `--rpc` and `--contract` as given, else verifyDefaults (the file is read only when one is missing).
 * An OPENMCP_CONFIG that cannot be read is said on stderr, with exit code 2 (nothing was checked),
 * and undefined returned: thrown, it would exit 1, which docs/proofs.md gives to a failed check.
 */
function verifyChain(o: { rpc?: string; contract?: string }): { rpc: string; contract?: string } | undefined {
  if (o.rpc && o.contract) return { rpc: o.rpc, contract: o.contract };
  try {
    const d = load<typeof import('./verify-defaults')>('./verify-defaults').verifyDefaults();
    return { rpc: o.rpc ?? d.rpc, contract: o.contract ?? d.contract };
  } catch (err) {
    console.error(fatalErrorText(err));
    process.exitCode = 2;
    return undefined;
  }
}

/**
 * Set by the commands whose outcome is more than their output, which a reader that stops reading
 * must not end with 0: verify and verify-batch, whose exit code is the verdict (`openmcp verify
 * forged.json | head -1` under pipefail); projections rebuild, which would stop between building
 * and swapping in; start, whose stdout carries only logs and where it listens (`openmcp start |
 * tee log` whose tee dies loses those lines, not the gateway).
 */
let runsOnWithoutStdout = false;

/**
 * `openmcp events tail | head`: once the reader has gone, a write fails with EPIPE, which Node
 * raises as an unhandled 'error' with a stack trace. End quietly instead, as Unix tools do; the
 * commands of runsOnWithoutStdout run on to their end instead, their lines unread (console drops
 * failed writes; start's JSON log says the loss on stderr: stdoutLogDestination).
 */
function endQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    if (!runsOnWithoutStdout) process.exit(0);
  });
}

/**
 * Run one `openmcp` command line (`argv` as process.argv: node, the script, then the arguments):
 * what `bin/openmcp` does, and what the tests call to run a command without starting a process.
 * The exit code is left in process.exitCode, or given to process.exit.
 */
export function runOpenmcp(argv: readonly string[]): Promise<void> {
  return buildCli()
    .parseAsync(argv)
    .then(
      () => undefined,
      (err: unknown) => {
        usableOrExit(err);
        console.error(fatalErrorText(err));
        process.exit(1);
      },
    );
}

if (require.main === module || process.argv[1]?.endsWith('bin/openmcp')) {
  // DEBUG=… output (the libraries' own) with every URL's credentials masked: docs/security.md.
  maskDebugCredentials();
  endQuietlyWhenStdoutCloses();
  void runOpenmcp(process.argv);
}
