import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { openStores } from '../../src/app/open-stores';
import { recordPayloadPolicy, recordedPayloadPolicy } from '../../src/db/gateway-settings';
import { runMcpStdio } from '../../src/cli/mcp-stdio';
import { loadConfig } from '../../src/config';

/**
 * `openmcp mcp stdio` runs with its own settings: a host given only the key and DATA_DIR ran it
 * under MCP_PAYLOAD_POLICY=store, recording its calls' arguments and results in clear, on the
 * database of a gateway set to hash-only or encrypted. The policy the gateway started with is
 * recorded in its database (`openmcp start`), and mcp stdio refuses to run under another.
 */
describe('openmcp mcp stdio: refuses a payload policy other than the one the gateway on that database runs under', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'omc-stdio-policy-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const base = (data: string) => ({ DATA_DIR: data, OPENMCP_ADMIN_KEY: 'local-stdio-admin-key-0123456789', LOG_LEVEL: 'error', OPENMCP_EXAMPLES: 'off', MCP_HEALTH_INTERVAL_MS: '0' });

  /** A database on which a gateway started under `policy` (as openmcp start records it). */
  async function gatewayRanUnder(data: string, policy: 'store' | 'hash-only' | 'encrypted'): Promise<void> {
    const stores = await openStores(loadConfig({ ...base(data), MCP_PAYLOAD_POLICY: policy }));
    try {
      await recordPayloadPolicy(stores.knex, policy);
      expect(await recordedPayloadPolicy(stores.knex)).to.equal(policy);
    } finally {
      await stores.close();
    }
  }

  /** Runs mcp stdio with these settings (the admin key) and a host that sends nothing: what it threw, or 'ran'. */
  async function run(env: Record<string, string>): Promise<unknown> {
    const stdin = new PassThrough();
    stdin.end();
    return runMcpStdio(loadConfig(env), 'local-stdio-admin-key-0123456789', { stdin, stdout: new PassThrough() }).then(
      () => 'ran',
      (e: unknown) => e,
    );
  }

  it('the documented host config (key and DATA_DIR) on a hash-only gateway: CONFIG_INVALID naming both policies', async () => {
    const data = join(dir, 'data');
    await gatewayRanUnder(data, 'hash-only');
    const err = await run(base(data));
    expect(err).to.have.property('code', 'CONFIG_INVALID');
    expect(err).to.have.nested.property('details.variable', 'MCP_PAYLOAD_POLICY');
    expect((err as Error).message).to.include('MCP_PAYLOAD_POLICY=store').and.include('MCP_PAYLOAD_POLICY=hash-only').and.include('OPENMCP_CONFIG');
    expect(await run({ ...base(data), MCP_PAYLOAD_POLICY: 'encrypted' })).to.have.property('code', 'CONFIG_INVALID');
  });

  it('runs under the policy the gateway recorded, and on a database no gateway recorded one in', async () => {
    const data = join(dir, 'data');
    await gatewayRanUnder(data, 'encrypted');
    expect(await run({ ...base(data), MCP_PAYLOAD_POLICY: 'encrypted' })).to.equal('ran');
    // A gateway restarted under another policy: the last one started counts.
    await gatewayRanUnder(data, 'store');
    expect(await run(base(data))).to.equal('ran');
    const fresh = join(dir, 'fresh');
    const stores = await openStores(loadConfig(base(fresh)));
    await stores.close();
    expect(await run({ ...base(fresh), MCP_PAYLOAD_POLICY: 'hash-only' })).to.equal('ran');
  });
});
