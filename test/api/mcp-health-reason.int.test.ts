import { expect } from 'chai';
import { join } from 'node:path';
import type { PayloadPolicy } from '../../src/mcp/audit';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { FAILING_START_SECRETS } from '../mcp/support/failing-start-server';
import { until } from '../mcp/support/until';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';

const SERVER = join(__dirname, '..', 'mcp', 'support', 'failing-start-server.ts');
const SECRETS = Object.values(FAILING_START_SECRETS);
const { token, password } = FAILING_START_SECRETS;
type Mode = 'exit' | 'refuse' | 'version';
const stdio = (mode: Mode) => ({ transport: 'stdio', command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), SERVER, mode] });

type Warning = { obj: Record<string, unknown>; msg?: string };

/**
 * A stdio upstream whose own text (stderr before it dies, the message of its initialize error)
 * holds secrets: what the gateway records of its health, and what REST, the read model and
 * /readyz show of it, under each MCP_PAYLOAD_POLICY.
 */
describe("MCP server health: the upstream's own text and MCP_PAYLOAD_POLICY", function () {
  this.timeout(60_000);

  async function setUp(payloadPolicy: PayloadPolicy) {
    const warnings: Warning[] = [];
    const logger = { warn: (obj: unknown, msg?: string) => void warnings.push({ obj: obj as Record<string, unknown>, msg }) };
    const { h, close } = await makeGatewayHarness({}, 10_000, { payloadPolicy, logger });
    // Registering a stdio server is a cross-tenant admin's (docs/security.md); this one lives in acme.
    const admin = (await h.key('admin', 'acme', true)).auth;
    const register = (name: string, mode: Mode) => h.call({ method: 'POST', url: '/v1/mcp-servers', auth: admin, payload: { name, ...stdio(mode) } });
    return { h, close, admin, warnings, register };
  }

  /** Every place a reader could see the reason: the log itself, REST (events, servers), /readyz, the read model's rows. */
  async function everything(h: Harness, admin: string): Promise<Record<string, string>> {
    await until('the read model has every server down', async () => (await h.knex('rm_mcp_servers').where({ health: 'down' })).length === 3);
    return {
      log: JSON.stringify(await h.store.readAll({ limit: 10_000 })),
      'GET /v1/events': (await h.call({ method: 'GET', url: '/v1/events?limit=1000', auth: admin })).body,
      'GET /v1/mcp-servers': (await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: admin })).body,
      'GET /readyz': (await h.call({ method: 'GET', url: '/readyz' })).body,
      rm_mcp_servers: JSON.stringify(await h.knex('rm_mcp_servers').select()),
    };
  }

  describe('hash-only', () => {
    let t: Awaited<ReturnType<typeof setUp>>;
    before(async () => (t = await setUp('hash-only')));
    after(async () => t?.close());

    it('records a classification the gateway made (exit code, JSON-RPC code) and a digest, never the text; REST and the read model show the same, nothing shows the secrets', async () => {
      const dying = await t.register('dying', 'exit');
      const refusing = await t.register('refusing', 'refuse');
      const odd = await t.register('odd', 'version');
      expect(dying.statusCode, dying.body).to.equal(201);
      expect(dying.json()).to.include({ health: 'down', healthReason: 'the process exited with code 7 (details withheld by the payload policy)' });
      expect(refusing.json()).to.include({ health: 'down', healthReason: 'the upstream answered JSON-RPC error -32603 (details withheld by the payload policy)' });
      // The SDK's error quotes what the upstream answered: nothing the gateway can classify (and not the exit of the process it then ended itself).
      expect(odd.json()).to.include({ health: 'down', healthReason: 'an unclassified failure (details withheld by the payload policy)' });

      const health = (await t.h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerHealthChanged');
      expect(health.map((e) => [e.version, e.data.status, e.data.cause, 'reason' in e.data])).to.deep.equal([
        [2, 'down', { kind: 'exited', exitCode: 7 }, false],
        [2, 'down', { kind: 'protocol-error', rpcCode: -32603 }, false],
        [2, 'down', { kind: 'other' }, false],
      ]);
      // The gateway's own log (operators') has the text, under the digest the event keeps, so one can be matched to the other.
      for (const e of health) {
        const w = t.warnings.find((x) => x.obj.serverId === e.stream.slice('mcpserver-'.length) && typeof x.obj.reason === 'string');
        expect(w, 'a warning for the server').to.not.equal(undefined);
        expect(w!.obj.reason).to.include(token);
        // Not a URL's password, though: an operator's log is shipped and kept too.
        if (String(w!.obj.reason).includes('postgres://')) expect(w!.obj.reason).to.include('postgres://***:***@').and.not.include(password);
        expect(w!.obj.reasonHash).to.equal(e.data.reasonHash);
        expect(e.data.reasonHash).to.equal(payloadDigest(w!.obj.reason).hash);
      }

      const seen = await everything(t.h, t.admin);
      for (const [where, text] of Object.entries({ ...seen, 'POST dying': dying.body, 'POST refusing': refusing.body, 'POST odd': odd.body })) {
        for (const s of SECRETS) expect(text, where).to.not.include(s);
      }
      const rows = await t.h.knex('rm_mcp_servers').select('name', 'health_reason').orderBy('name');
      expect(rows).to.deep.equal([
        { name: 'dying', health_reason: 'the process exited with code 7 (details withheld by the payload policy)' },
        { name: 'odd', health_reason: 'an unclassified failure (details withheld by the payload policy)' },
        { name: 'refusing', health_reason: 'the upstream answered JSON-RPC error -32603 (details withheld by the payload policy)' },
      ]);
    });
  });

  describe('store', () => {
    let t: Awaited<ReturnType<typeof setUp>>;
    before(async () => (t = await setUp('store')));
    after(async () => t?.close());

    it("keeps the reason as before (v1): the process's last stderr lines, the upstream's error message", async () => {
      const dying = await t.register('dying', 'exit');
      const refusing = await t.register('refusing', 'refuse');
      const odd = await t.register('odd', 'version');
      // As it came, but for the URL's credentials.
      const text = `postgres://***:***@db.internal/app with key ${token}`;
      expect(dying.json().healthReason).to.equal(`dying: the connection closed: the process exited with code 7 (stderr: starting | FATAL: could not connect to ${text})`);
      expect(refusing.json().healthReason).to.equal(`license check failed for ${text}`);
      expect(odd.json().healthReason).to.equal(`odd: Server's protocol version is not supported: ${token}-${password}`);
      const health = (await t.h.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerHealthChanged');
      expect(health.map((e) => [e.version, e.data])).to.deep.equal([
        [1, { status: 'down', reason: dying.json().healthReason }],
        [1, { status: 'down', reason: refusing.json().healthReason }],
        [1, { status: 'down', reason: odd.json().healthReason }],
      ]);
      const seen = await everything(t.h, t.admin);
      expect(seen['GET /v1/mcp-servers']).to.include(token);
      expect(JSON.stringify(health.slice(0, 2)), "the DSN's password").to.not.include(password);
      const rows = await t.h.knex('rm_mcp_servers').select('name', 'health_reason').orderBy('name');
      expect(rows.map((r) => r.health_reason)).to.deep.equal([dying.json().healthReason, odd.json().healthReason, refusing.json().healthReason]);
      expect(t.warnings.filter((w) => 'reason' in w.obj), 'no warning: the log has the reason').to.deep.equal([]);
    });
  });
});
