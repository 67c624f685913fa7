import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { expect } from 'chai';

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

  it('without it, debug prints them (what this guards against)', () => {
    const out = stderrOf(line);
    expect(out).to.contain('Pw-9xYz');
  });
});
