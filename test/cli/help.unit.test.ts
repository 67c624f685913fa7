import { expect } from 'chai';
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildCli } from '../../src/cli/main';
import { PROJECTION_NAMES } from '../../projections';

/** What `openmcp <args> --help` prints, 'after' help texts included. */
function helpOf(...args: string[]): string {
  let out = '';
  const cli = buildCli().exitOverride();
  const capture = (c: Command): void => {
    c.configureOutput({ writeOut: (s) => void (out += s) });
    c.exitOverride();
    c.commands.forEach(capture);
  };
  capture(cli);
  try {
    cli.parse(['node', 'openmcp', ...args, '--help']);
  } catch {
    // exitOverride: --help throws once the help is written
  }
  return out;
}

/** Every option of every `openmcp` command, with the text `--help` prints for it. */
function optionHelp(command: Command, path = 'openmcp'): { where: string; env?: string; text: string }[] {
  const help = command.createHelp();
  return [
    ...command.options.map((o) => ({ where: `${path} ${o.flags}`, env: o.envVar, text: help.optionDescription(o) })),
    ...command.commands.flatMap((c) => optionHelp(c, `${path} ${c.name()}`)),
  ];
}

describe('CLI --help', () => {
  const options = optionHelp(buildCli());

  it('walks every command', () => {
    expect(options.map((o) => o.where)).to.include.members(['openmcp verify --rpc <url>', 'openmcp mcp servers add --env <KEY=VALUE>']);
  });

  // Commander appends "(default: …)" and "(env: …)" itself: a description that says them too
  // printed them twice (`verify --rpc`: "(default: CHAIN_RPC_URL, …) (default: "http://…")").
  it('names an option\'s default once', () => {
    const twice = options.filter((o) => (o.text.match(/\bdefault\b/g) ?? []).length > 1).map((o) => `${o.where}: ${o.text}`);
    expect(twice).to.deep.equal([]);
  });

  it('names an option\'s environment variable once', () => {
    const twice = options.filter((o) => o.env && o.text.split(o.env).length > 2).map((o) => `${o.where}: ${o.text}`);
    expect(twice).to.deep.equal([]);
  });

  // The operator told to run `openmcp projections rebuild subject-events` looks the name up here.
  it('names every projection `projections rebuild` takes', () => {
    const help = helpOf('projections', 'rebuild');
    for (const name of PROJECTION_NAMES) expect(help, name).to.match(new RegExp(`(^|[ |])${name}( |$)`, 'm'));
  });

  // A newcomer's first `openmcp --help` must say where the client commands (tasks, keys, mcp servers…)
  // find the gateway and their key, and `--version` must name the release a bug report is about.
  it('says, at the top, where the client commands find the gateway and their key', () => {
    const help = helpOf();
    for (const v of ['OPENMCP_URL', 'OPENMCP_API_KEY', 'OPENMCP_ADMIN_KEY', 'DATA_DIR/admin.key']) expect(help, v).to.include(v);
  });

  it('says it again on each client command, where a newcomer asks `openmcp tasks --help`', () => {
    for (const args of [['keys'], ['subjects'], ['tasks'], ['tasks', 'list'], ['tool-calls'], ['events'], ['mcp', 'servers'], ['mcp', 'servers', 'add'], ['mcp', 'tools', 'search']]) {
      expect(helpOf(...args), args.join(' ')).to.include('OPENMCP_URL').and.include('OPENMCP_API_KEY');
    }
    for (const args of [['verify'], ['start'], ['mcp', 'stdio']]) expect(helpOf(...args), args.join(' ')).to.not.include('OPENMCP_URL');
  });

  // The decision test/cli/usage.unit.test.ts holds the CLI to, said where a newcomer and an auditor look.
  it("says where options go, and verify's and verify-batch's exit codes with what --help and --version do after them", () => {
    expect(helpOf().replace(/\s+/g, ' ')).to.include("A command's options go after its name").and.include('exits 2');
    for (const command of ['verify', 'verify-batch']) {
      expect(helpOf(command).replace(/\s+/g, ' '), command).to.include('Exit code: 0 every check passed; 1 a check failed').and.include('--help prints this help and checks nothing (exit 0, no verdict); --version is refused here');
    }
  });

  it('prints the package version with --version', () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string };
    let out = '';
    const cli = buildCli().exitOverride().configureOutput({ writeOut: (s) => void (out += s) });
    expect(() => cli.parse(['node', 'openmcp', '--version'])).to.throw(); // exitOverride: after printing
    expect(out.trim()).to.equal(version);
  });

  it('says "(default: …)" the one way, never an empty list', () => {
    const odd = options.filter((o) => /\(default [^:]|\(default: \[\]\)/.test(o.text)).map((o) => `${o.where}: ${o.text}`);
    expect(odd).to.deep.equal([]);
  });
});

describe('openmcp mcp stdio --help', () => {
  // An MCP host starts it in a directory of its own: without the running gateway's DATA_DIR (absolute)
  // it opened an empty ./data and refused the key; the help said only --key.
  it('says what an MCP host must give it (a key, the gateway\'s DATA_DIR or DATABASE_URL) with a host config to copy', () => {
    const help = helpOf('mcp', 'stdio');
    for (const s of ['DATA_DIR', 'DATABASE_URL', 'absolute', '"mcpServers"', '"args": ["mcp", "stdio"]', 'OPENMCP_API_KEY', 'keys create --role agent']) expect(help, s).to.include(s);
    // Its config is JSON a host reads as it is.
    const config = help.slice(help.indexOf('{'), help.lastIndexOf('}') + 1);
    expect(() => JSON.parse(config)).to.not.throw();
  });
});
