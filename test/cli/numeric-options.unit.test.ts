import { expect } from 'chai';
import { Command, CommanderError } from 'commander';
import { buildCli } from '../../src/cli/main';

/** Parse `openmcp …args` without exiting or printing; the error commander would exit with, if any. */
async function parseError(args: string[]): Promise<{ code: string; message: string } | undefined> {
  const program = buildCli();
  const quiet = (c: Command): void => {
    c.exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    // No action may run: these cases must fail in the parser, before any request.
    c.commands.forEach(quiet);
  };
  quiet(program);
  try {
    await program.parseAsync(['node', 'openmcp', ...args]);
    return undefined;
  } catch (err) {
    if (err instanceof CommanderError) return { code: err.code, message: err.message };
    throw err;
  }
}

describe('CLI numeric options', () => {
  // They were passed through Number(): `--after x` reached the API as NaN ("expected number, received NaN").
  for (const [args, says] of [
    [['events', 'tail', '--after', 'x'], '--after takes a log position'],
    [['events', 'tail', '--after', '-2'], '--after takes a log position'],
    [['tasks', 'list', '--limit', 'ten'], '--limit takes a whole number'],
    [['mcp', 'tools', 'search', 'echo', '-k', '0'], '-k takes a whole number'],
  ] as const) {
    it(`openmcp ${args.join(' ')}: refused by the parser, naming the option`, async () => {
      const err = await parseError([...args]);
      expect(err?.code).to.equal('commander.invalidArgument');
      expect(err?.message).to.include(says);
    });
  }
});
