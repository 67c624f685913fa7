import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * Runs `script` in a fresh Node process with tsx, in the repository root, and returns what it
 * prints as JSON: a module loaded by this test's own process (mocha loads much) would hide one
 * that the command no longer loads, and a lazily loaded one must work when it is first used.
 */
function inFreshProcess(script: string): unknown {
  // A timeout of its own: mocha's cannot stop a synchronous wait, and a script left with a handle
  // open (a knex pool after a failed migration) would hang the run rather than fail it.
  const out = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 50_000, env: { ...process.env, NODE_OPTIONS: '' } });
  return JSON.parse(out.trim().split('\n').pop()!);
}

/**
 * `openmcp mcp stdio` is started by an MCP host per session, which waits for `initialize` (and
 * may give up on a slow one): the host's answer waits on every module the command loads first.
 * What it never uses (another command's SDK client, /mcp's HTTP side, Redis without REDIS_URL,
 * JWTs without JWT settings, YAML without a YAML file, migrations already run) is loaded when used.
 */
describe('openmcp mcp stdio: loads only what answering initialize needs', function () {
  this.timeout(60_000);

  it('loading the command (and the CLI around it) loads none of what it does not use', () => {
    const loaded = inFreshProcess(`
      require('./src/cli/main.ts');
      require('./src/cli/mcp-stdio.ts');
      console.log(JSON.stringify(Object.keys(require.cache)));
    `) as string[];
    const any = (pattern: RegExp) => loaded.filter((f) => pattern.test(f.split('\\').join('/')));
    expect(loaded.some((f) => f.endsWith('mcp-stdio.ts')), 'the command itself').to.equal(true);
    expect(any(/\/node_modules\/fastify\//), 'fastify (/mcp over HTTP)').to.deep.equal([]);
    expect(any(/\/src\/mcp\/gateway-plugin\.ts$/), "/mcp's plugin").to.deep.equal([]);
    expect(any(/\/node_modules\/ioredis\//), 'ioredis without REDIS_URL').to.deep.equal([]);
    expect(any(/\/node_modules\/jose\//), 'jose without JWT settings').to.deep.equal([]);
    expect(any(/\/node_modules\/yaml\//), 'yaml without a YAML settings file').to.deep.equal([]);
    expect(any(/\/src\/sdk\//), "the client commands' SDK").to.deep.equal([]);
    expect(any(/\/migrations\/\d+_\w+\.ts$/), 'migration modules before any is run').to.deep.equal([]);
  });

  it('each, loaded when first used, works: YAML settings, a settings position, a JWT, migrations', () => {
    const got = inFreshProcess(`
      (async () => {
        const { parseSettingsText } = require('./src/core/settings-text.ts');
        const { settingsPosition } = require('./src/core/settings-position.ts');
        const { createJwtVerifier } = require('./src/auth/jwt.ts');
        const { migrateLatest } = require('./migrations/index.ts');
        const { openKnex } = require('./src/db/knex.ts');
        const yaml = parseSettingsText('a.yaml', 'a:\\n  b: 1\\n');
        const position = settingsPosition('a:\\n  b: 1\\n', ['a', 'b']);
        const { createHmac } = require('node:crypto');
        const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
        const secret = 'a-jwt-secret-of-at-least-thirty-two-bytes!';
        const body = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64({ sub: 'someone', tenant: 'acme', role: 'agent', exp: Math.floor(Date.now() / 1000) + 60 });
        const token = body + '.' + createHmac('sha256', secret).update(body).digest('base64url');
        const principal = await createJwtVerifier({ JWT_SECRET: secret })(token);
        let refused = '';
        await createJwtVerifier({ JWT_SECRET: secret })(token.slice(0, -2) + 'xx').catch((err) => (refused = err.name));
        const knex = await openKnex('sqlite::memory:', {});
        const { applied } = await migrateLatest(knex);
        const again = await migrateLatest(knex);
        await knex.destroy();
        console.log(JSON.stringify({ yaml, position, tenant: principal.tenant, refused, applied: applied.length, again: again.applied.length }));
      })().catch((err) => { console.log(JSON.stringify({ failed: String(err && err.stack || err) })); }).finally(() => process.exit(0));
    `) as Record<string, unknown>;
    expect(got.failed, String(got.failed)).to.equal(undefined);
    expect(got.yaml).to.deep.equal({ a: { b: 1 } });
    expect(got.position).to.deep.equal({ line: 2, column: 6 });
    expect(got.tenant).to.equal('acme');
    expect(got.refused).to.be.a('string').and.not.equal('');
    expect(got.applied).to.be.greaterThan(0);
    expect(got.again).to.equal(0);
  });

  it('a lazily loaded module that cannot be loaded is said so, naming the setting that needs it, not blamed on a file', () => {
    const got = inFreshProcess(`
      const Module = require('node:module');
      const resolve = Module._resolveFilename;
      Module._resolveFilename = function (request, ...rest) {
        if (['yaml', 'yaml/util', 'jose', 'ioredis'].includes(request)) throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
        return resolve.call(this, request, ...rest);
      };
      (async () => {
        const { mkdtempSync, writeFileSync } = require('node:fs');
        const { join } = require('node:path');
        const { tmpdir } = require('node:os');
        const dir = mkdtempSync(join(tmpdir(), 'lazy-'));
        writeFileSync(join(dir, 'c.yaml'), 'PORT: 1234\\n');
        writeFileSync(join(dir, 'jwks.json'), '{"keys":[]}');
        const said = (f) => { try { f(); return 'no error'; } catch (err) { return (err.code ?? '') + ' ' + err.message; } };
        const { readSettingsFile } = require('./src/core/settings-text.ts');
        const { settingsProblemsText } = require('./src/core/settings-issue.ts');
        const { createJwtVerifier } = require('./src/auth/jwt.ts');
        const { openStores } = require('./src/app/open-stores.ts');
        const yaml = said(() => readSettingsFile(join(dir, 'c.yaml'), 'OPENMCP_CONFIG'));
        const position = settingsProblemsText([{ text: 'a.b: wrong', path: ['a', 'b'] }], '{"a": {"b": 1}}');
        const jwks = said(() => createJwtVerifier({ JWT_JWKS_FILE: join(dir, 'jwks.json') }));
        const secret = said(() => createJwtVerifier({ JWT_SECRET: 'a-jwt-secret-of-at-least-thirty-two-bytes!' }));
        const { loadConfig } = require('./src/config.ts');
        const config = loadConfig({ DATA_DIR: dir, REDIS_URL: 'redis://127.0.0.1:9' }, dir);
        const redis = await openStores(config).then(() => 'no error', (err) => (err.code ?? '') + ' ' + err.message);
        console.log(JSON.stringify({ yaml, position, jwks, secret, redis }));
      })().catch((err) => { console.log(JSON.stringify({ failed: String(err && err.stack || err) })); }).finally(() => process.exit(0));
    `) as Record<string, string>;
    expect(got.failed, String(got.failed)).to.equal(undefined);
    expect(got.yaml).to.contain('CONFIG_INVALID').and.contain('OPENMCP_CONFIG').and.contain("the module that reads YAML (yaml) cannot be loaded: Cannot find module 'yaml'");
    expect(got.yaml).not.to.contain('not valid');
    expect(got.position, 'the refusal, without its position').to.equal('a.b: wrong');
    expect(got.jwks).to.contain('CONFIG_INVALID JWT_JWKS_FILE is set but the module it needs cannot be loaded').and.contain("'jose'");
    expect(got.jwks).not.to.contain('not a JWKS document');
    expect(got.secret).to.contain('CONFIG_INVALID JWT_SECRET is set but the module it needs cannot be loaded');
    expect(got.redis).to.contain('CONFIG_INVALID REDIS_URL is set but the module it needs cannot be loaded').and.contain("'ioredis'");
  });

  it('a client command loads the SDK when it runs, and it runs', () => {
    let stderr = '';
    try {
      execFileSync(process.execPath, [join(ROOT, 'bin', 'openmcp'), 'keys', 'list'], {
        cwd: ROOT,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        // Port 9 (discard) on loopback: nothing listens, so the SDK's request itself is refused.
        env: { ...process.env, NODE_OPTIONS: '', OPENMCP_URL: 'http://127.0.0.1:9', OPENMCP_API_KEY: 'omk_not-a-key' },
      });
    } catch (err) {
      stderr = String((err as { stderr?: string }).stderr);
    }
    expect(stderr).to.contain('SDK_CONNECTION_FAILED').and.contain('http://127.0.0.1:9/v1/keys');
  });
});
