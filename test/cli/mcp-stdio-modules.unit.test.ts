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
  const out = execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
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
      })().catch((err) => { console.log(JSON.stringify({ failed: String(err && err.stack || err) })); });
    `) as Record<string, unknown>;
    expect(got.failed, String(got.failed)).to.equal(undefined);
    expect(got.yaml).to.deep.equal({ a: { b: 1 } });
    expect(got.position).to.deep.equal({ line: 2, column: 6 });
    expect(got.tenant).to.equal('acme');
    expect(got.refused).to.be.a('string').and.not.equal('');
    expect(got.applied).to.be.greaterThan(0);
    expect(got.again).to.equal(0);
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
