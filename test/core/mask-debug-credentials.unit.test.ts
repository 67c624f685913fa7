import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { OWN_DEBUG_COPIES } from '../../src/core/mask-debug-credentials';

const ROOT = join(__dirname, '..', '..');

/** Runs `script` in a fresh process with DEBUG on (the debug module reads it when first loaded): its stderr. */
function stderrOf(script: string): string {
  const res = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 50_000,
    env: { ...process.env, NODE_OPTIONS: '', DEBUG: 'some:lib', DEBUG_COLORS: 'false' },
  });
  return res.stderr;
}

describe('maskDebugCredentials: DEBUG output with the credentials of URLs masked', function () {
  this.timeout(60_000);
  const line = "require('debug')('some:lib')('connecting to %s, then %o', 'mysql://app:Pw-9xYz@db:3306/openmcp', { url: 'https://rpc.example/v3/x?apiKey=Ab12Cd34' });";

  it('any namespace, installed after its debug instance was made; the format as debug writes it', () => {
    const out = stderrOf(`const log = require('debug')('some:lib'); require('./src/core/mask-debug-credentials.ts').maskDebugCredentials(); ${line}`);
    expect(out).to.contain('some:lib connecting to mysql://***:***@db:3306/openmcp, then');
    expect(out).not.to.contain('Pw-9xYz');
    expect(out).not.to.contain('Ab12Cd34');
  });

  it('a line without credentials is written as it was, its URLs not rewritten', () => {
    const plain = "require('debug')('some:lib')('listening on %s, proxy HTTP://Localhost:80/a%%7Eb, %s', 'http://127.0.0.1:8545', 'kurrentdb://host:2113?tls=false');";
    const undated = (out: string) => out.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /gm, '');
    const expected = undated(stderrOf(plain));
    expect(expected).to.contain('listening on http://127.0.0.1:8545, proxy HTTP://Localhost:80/a%7Eb, kurrentdb://host:2113?tls=false');
    expect(undated(stderrOf(`require('./src/core/mask-debug-credentials.ts').maskDebugCredentials(); ${plain}`))).to.equal(expected);
  });

  it("the libraries' own copies of debug too (knex brings one: DEBUG=knex:bindings prints a query's values, an upstream's URL among them)", () => {
    const knexDebug = "require(require.resolve('debug', { paths: [require('path').dirname(require.resolve('knex/package.json'))] }))";
    const out = stderrOf(`require('./src/core/mask-debug-credentials.ts').maskDebugCredentials(); ${knexDebug}('some:lib')('%o', ['https://u:Pw-9xYz@mcp.example/sse?token=Ab12Cd34']);`);
    expect(out).to.contain('some:lib');
    expect(out).not.to.contain('Pw-9xYz');
    expect(out).not.to.contain('Ab12Cd34');
  });

  it('every copy of debug a production install has is masked: the lock\'s nested ones are in OWN_DEBUG_COPIES', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const owners = Object.entries(lock.packages)
      .filter(([path, meta]) => /^node_modules\/.+\/node_modules\/debug$/.test(path) && !meta.dev)
      .map(([path]) => path.replace(/^node_modules\//, '').replace(/\/node_modules\/debug$/, ''));
    expect(owners, 'a package with a copy of debug of its own (add it to OWN_DEBUG_COPIES)').to.have.members(OWN_DEBUG_COPIES);
  });

  it('without it, debug prints them (what this guards against)', () => {
    const out = stderrOf(line);
    expect(out).to.contain('Pw-9xYz');
  });
});
