import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * `openmcp --help`, `--version` and a command line the parser refuses need no configuration: the
 * CLI built, zod (the configuration's and the event schemas' validator, a third of a cold start) is
 * not loaded until a command reads the configuration.
 */
describe('openmcp: the CLI built loads no configuration', function () {
  this.timeout(60_000);

  it('buildCli() loads neither src/config.ts nor zod, and the configuration still loads when a command asks for it', () => {
    // A fresh process: mocha's own loads much (see mcp-stdio-modules.unit.test.ts).
    const out = execFileSync(
      process.execPath,
      [
        '-r',
        'tsx/cjs',
        '-e',
        `
        const { buildCli } = require('./src/cli/main.ts');
        buildCli();
        const built = Object.keys(require.cache);
        const { loadConfig } = require('./src/config.ts');
        console.log(JSON.stringify({ built, loads: typeof loadConfig({ DATA_DIR: require('node:os').tmpdir() }) }));
      `,
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 50_000, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const { built, loads } = JSON.parse(out.trim().split('\n').pop()!) as { built: string[]; loads: string };
    const any = (pattern: RegExp) => built.filter((f) => pattern.test(f.split('\\').join('/')));
    expect(any(/\/src\/cli\/main\.ts$/), 'the CLI itself').to.have.length(1);
    expect(any(/\/src\/config\.ts$/), 'the configuration').to.deep.equal([]);
    expect(any(/\/node_modules\/zod\//), 'zod').to.deep.equal([]);
    expect(loads).to.equal('object');
  });
});
