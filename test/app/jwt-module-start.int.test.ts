/**
 * JWT settings need jose, loaded only when they are given. A missing or broken jose stops
 * `openmcp start` and `openmcp mcp stdio` before anything is made, as any other setting they
 * cannot apply does: it was found once the database was created and migrated (and, for mcp stdio,
 * OPENMCP_ADMIN_KEY stored), leaving a fresh DATA_DIR behind for a start that could never run.
 * Run in a fresh process: this one may have loaded jose already, and a module once loaded is
 * found again without asking the resolver this test makes fail.
 */
import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** Runs `script` in a fresh tsx process where jose cannot be resolved; what it prints last, as JSON. */
function withoutJose(script: string): Record<string, unknown> {
  const out = execFileSync(
    process.execPath,
    [
      '-r',
      'tsx/cjs',
      '-e',
      `
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (request === 'jose') throw Object.assign(new Error("Cannot find module 'jose'"), { code: 'MODULE_NOT_FOUND' });
        return resolve.call(this, request, ...rest);
      };
      ${script}`,
    ],
    { cwd: ROOT, encoding: 'utf8', timeout: 100_000, env: { ...process.env, NODE_OPTIONS: '' } },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
}

describe('JWT settings without a loadable jose', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'omc-jwt-module-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('openmcp start: CONFIG_INVALID naming the setting, before the database (or anything) is made', () => {
    const data = join(dir, 'data');
    const got = withoutJose(`
      (async () => {
        const { existsSync, readdirSync } = require('node:fs');
        const { loadConfig } = require('./src/config.ts');
        const { startOpenMcp } = require('./src/main.ts');
        const data = ${JSON.stringify(data)};
        const config = loadConfig({ DATA_DIR: data, LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', CHAIN_PORT: '1', JWT_SECRET: 'a-jwt-secret-of-at-least-thirty-two-bytes!' });
        const printed = [];
        const said = await startOpenMcp(config, { listen: false, print: (l) => printed.push(l) }).then(
          async (app) => { await app.close(); return 'started'; },
          (err) => (err.code ?? '') + ' ' + err.message,
        );
        console.log(JSON.stringify({ said, made: existsSync(data) ? readdirSync(data) : [], printed }));
      })().catch((err) => console.log(JSON.stringify({ failed: String(err && err.stack || err) }))).finally(() => process.exit(0));
    `);
    expect(got.failed, String(got.failed)).to.equal(undefined);
    expect(got.said).to.contain('CONFIG_INVALID JWT_SECRET is set but the module it needs cannot be loaded').and.contain("'jose'");
    expect(got.made, 'nothing made in DATA_DIR').to.deep.equal([]);
    expect(got.printed, 'no bootstrap key printed').to.deep.equal([]);
  });

  it('openmcp mcp stdio: CONFIG_INVALID naming the setting, before the database is made or the admin key stored', () => {
    const data = join(dir, 'data');
    const got = withoutJose(`
      (async () => {
        const { existsSync } = require('node:fs');
        const { PassThrough } = require('node:stream');
        const { loadConfig } = require('./src/config.ts');
        const { runMcpStdio } = require('./src/cli/mcp-stdio.ts');
        const data = ${JSON.stringify(data)};
        const config = loadConfig({ DATA_DIR: data, OPENMCP_ADMIN_KEY: 'local-stdio-admin-key-0123456789', LOG_LEVEL: 'error', OPENMCP_EXAMPLES: 'off', MCP_HEALTH_INTERVAL_MS: '0', JWT_JWKS_FILE: '/nonexistent/jwks.json' });
        const stdin = new PassThrough();
        stdin.end();
        const said = await runMcpStdio(config, 'omc_not_looked_up', { stdin, stdout: new PassThrough() }).then(
          () => 'ran',
          (err) => (err.code ?? '') + ' ' + err.message,
        );
        console.log(JSON.stringify({ said, made: existsSync(data) }));
      })().catch((err) => console.log(JSON.stringify({ failed: String(err && err.stack || err) }))).finally(() => process.exit(0));
    `);
    expect(got.failed, String(got.failed)).to.equal(undefined);
    expect(got.said).to.contain('CONFIG_INVALID JWT_JWKS_FILE is set but the module it needs cannot be loaded').and.contain("'jose'");
    expect(got.made, 'no database made in DATA_DIR').to.equal(false);
  });
});
