import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { expect } from 'chai';
import { EXAMPLES_STDIO_SERVER } from '../../src/mcp/examples-server';
import { packageImports, type PackageImport } from '../support/package-imports';

const ROOT = join(__dirname, '..', '..');
/**
 * What runs in production: the gateway and its CLI (src/, bin/), the event catalog, projections and
 * migrations, the dashboard's browser code (ui/: its packages are served from node_modules), and the
 * bundled example MCP server the gateway starts as `examples` (examples/mcp-stdio/, on by default).
 * scripts/, test/, bench/, the other examples/ and hardhat.config.ts are development tools.
 */
const RUNTIME_DIRS = ['src', 'events', 'projections', 'migrations', 'bin', 'ui', 'examples/mcp-stdio'];
/**
 * Development dependencies the run-time code loads only on a path a production install does not
 * take, and where: each file must say plainly what a production install does instead.
 */
const DEV_ONLY_AT_RUN_TIME: Record<string, { files: string[]; why: string }> = {
  hardhat: {
    files: ['src/web3/local-chain.ts'],
    why: 'the embedded demo chain (no CHAIN_RPC_URL); without Hardhat the start refuses CONFIG_INVALID naming CHAIN_RPC_URL (hardhatBootstrap)',
  },
};
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'screenshots' ? [] : sourceFiles(path);
    return /\.(ts|tsx|js|cjs|mjs)$/.test(name) || relative(ROOT, dir) === 'bin' ? [path] : [];
  });
}

function runtimeImports(): Array<PackageImport & { file: string }> {
  return RUNTIME_DIRS.flatMap((d) => sourceFiles(join(ROOT, d))).flatMap((file) =>
    packageImports(file, readFileSync(file, 'utf8')).map((i) => ({ ...i, file: relative(ROOT, file) })),
  );
}

describe('package.json: what runs in production is in dependencies (npm ci --omit=dev)', () => {
  describe('packageImports', () => {
    const names = (text: string) => packageImports('x.ts', text).map((i) => `${i.how} ${i.name}`);

    it('finds static, dynamic and require-style loads of packages, and knex drivers', () => {
      const text = [
        "import a from 'alpha';",
        "import { b, type B } from '@scope/beta/sub/path.js';",
        "import 'gamma';",
        "export { d } from 'delta';",
        "import e = require('epsilon');",
        "const z = await import('zeta');",
        "const h = require('eta');",
        "const t = require.resolve('theta/package.json');",
        "knex({ client: 'iota' });",
      ].join('\n');
      expect(names(text)).to.deep.equal([
        'import alpha',
        'import @scope/beta',
        'import gamma',
        'export … from delta',
        'import = require epsilon',
        'import() zeta',
        'require() eta',
        'require.resolve() theta',
        'knex client iota',
      ]);
    });

    it('leaves out type-only imports, relative paths and Node built-ins', () => {
      const text = [
        "import type { A } from 'alpha';",
        "import { type B, type C } from 'beta';",
        "export type { D } from 'delta';",
        "let x: import('epsilon').E;",
        "import { readFileSync } from 'node:fs';",
        "import { join } from 'path';",
        "import { y } from './local';",
        "const w = require(someVariable);",
      ].join('\n');
      expect(names(text)).to.deep.equal([]);
    });

    it('says on which line', () => {
      expect(packageImports('x.ts', "\n\nconst s = require('solc');")).to.deep.equal([{ name: 'solc', specifier: 'solc', how: 'require()', line: 3 }]);
    });
  });

  const imports = runtimeImports();

  it('finds the run-time folders’ imports (the scan reads them)', () => {
    const names = new Set(imports.map((i) => i.name));
    for (const name of ['fastify', 'tsx', 'hardhat', 'better-sqlite3', 'mysql2', 'preact', 'openai']) expect(names, name).to.include(name);
  });

  it('scans the example server the gateway runs where it is', () => {
    expect(relative(ROOT, dirname(EXAMPLES_STDIO_SERVER)).split('\\').join('/')).to.be.oneOf(RUNTIME_DIRS);
  });

  it('every package that src/, bin/, events/, projections/, migrations/, ui/ or examples/mcp-stdio/ loads is in dependencies', () => {
    const missing = imports
      .filter((i) => !(i.name in pkg.dependencies) && !DEV_ONLY_AT_RUN_TIME[i.name]?.files.includes(i.file))
      .map((i) => `${i.file}:${i.line}: ${i.how} '${i.specifier}': ${i.name in (pkg.devDependencies ?? {}) ? 'only a devDependency' : 'not in package.json'}`);
    expect(missing, 'npm ci --omit=dev would leave these out: move the package to dependencies, or the code to scripts/ or test/').to.deep.equal([]);
  });

  it('the development dependencies loaded on a path a production install does not take are devDependencies, loaded where said', () => {
    for (const [name, { files }] of Object.entries(DEV_ONLY_AT_RUN_TIME)) {
      expect(pkg.devDependencies, name).to.have.property(name);
      expect(pkg.dependencies, name).not.to.have.property(name);
      const loadedIn = [...new Set(imports.filter((i) => i.name === name).map((i) => i.file))];
      expect(loadedIn, `${name}: loaded in`).to.have.members(files);
    }
  });

  it('every dependency is loaded by the run-time code (test and build tools are devDependencies)', () => {
    const used = new Set(imports.map((i) => i.name));
    const unused = Object.keys(pkg.dependencies).filter((name) => !used.has(name));
    expect(unused, 'in dependencies but not loaded by src/, bin/, events/, projections/, migrations/ or ui/: a devDependency?').to.deep.equal([]);
  });
});
