import { expect } from 'chai';
import type { Command } from 'commander';
import { buildCli } from '../../src/cli/main';

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

  it('says "(default: …)" the one way, never an empty list', () => {
    const odd = options.filter((o) => /\(default [^:]|\(default: \[\]\)/.test(o.text)).map((o) => `${o.where}: ${o.text}`);
    expect(odd).to.deep.equal([]);
  });
});
