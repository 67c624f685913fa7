import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gatewayOptionsFrom, mcpOriginPolicyFrom, mcpSessionLimitsFrom } from '../src/app/gateway';
import { loadConfig, trustProxyOption } from '../src/config';
import { resultCacheTtlMs } from '../src/mcp/result-cache';
import { fatalErrorText } from '../src/cli/fatal-error-text';
import { ConfigError } from '../src/core/errors';
import { KurrentDBClient } from '@kurrent/kurrentdb-client';


/** The message loadConfig refuses `env` with (fails the test when it takes it). */
function message(env: Record<string, string>): string {
  try {
    loadConfig(env, '/x');
  } catch (e) {
    return (e as Error).message;
  }
  return expect.fail('should throw');
}
describe('configuration', () => {
  it('is the embedded default when nothing is set', () => {
    const c = loadConfig({}, '/srv/app');
    expect(c).to.include({ HOST: '127.0.0.1', PORT: 8080, dataDir: '/srv/app/data', databaseUrl: 'sqlite:/srv/app/data/openmcp.db', CHAIN_PORT: 8545, LOG_BUFFER_MAX_BYTES: 16 * 1024 * 1024 });
    expect(c.REDIS_URL).to.equal(undefined);
    expect(c.KAFKA_BROKERS).to.equal(undefined);
    expect(c.CHAIN_RPC_URL).to.equal(undefined);
  });

  it('refuses an OPENMCP_ADMIN_KEY that is short or low-entropy (it is stored as an unsalted SHA-256), saying how to generate one', () => {
    for (const weak of ['correct-horse-battery', 'a'.repeat(40), 'password'.repeat(5), '0123456789abcdef'.repeat(2), 'adminadminadminadminadminadmin12']) {
      expect(() => loadConfig({ OPENMCP_ADMIN_KEY: weak }, '/x'), weak).to.throw(ConfigError, /OPENMCP_ADMIN_KEY.*(shorter than 32|too repetitive).*openssl rand -base64 32/s);
    }
    for (const ok of ['omk_' + 'q7Vb2XkP9sLmN4rT8wYzA1cD5fGhJ3uE6iOpQ0aBxCy', 'Zx9kQ2mV7pL4sN8wR3tB6yH1cF5gJ0dA', 'b3f1c9e27a4d8065f1e2d3c4b5a69788']) {
      expect(loadConfig({ OPENMCP_ADMIN_KEY: ok }, '/x').OPENMCP_ADMIN_KEY).to.equal(ok);
    }
  });

  it('MAX_API_KEYS_PER_TENANT: 100 unset, else a whole number from 1 to 100000; refused otherwise naming the variable', () => {
    expect(loadConfig({}, '/x').MAX_API_KEYS_PER_TENANT).to.equal(100);
    expect(loadConfig({ MAX_API_KEYS_PER_TENANT: '7' }, '/x').MAX_API_KEYS_PER_TENANT).to.equal(7);
    for (const bad of ['0', '-1', '2.5', 'many', '100001']) {
      expect(() => loadConfig({ MAX_API_KEYS_PER_TENANT: bad }, '/x'), bad).to.throw(ConfigError, /^Invalid configuration: MAX_API_KEYS_PER_TENANT=/);
    }
  });

  it('KAFKA_TOPIC_PREFIX: a Kafka topic name part of at most 84 characters, so the relay lease `relay:<prefix>.events.v1` fits its column (MySQL cut a longer one on insert and the relay never became leader, publishing nothing, with no error)', () => {
    expect(loadConfig({}, '/x').KAFKA_TOPIC_PREFIX).to.equal('openmcp');
    expect(loadConfig({ KAFKA_TOPIC_PREFIX: 'p'.repeat(84) }, '/x').KAFKA_TOPIC_PREFIX).to.have.length(84);
    for (const bad of ['p'.repeat(85), 'a b', 'a/b']) {
      expect(() => loadConfig({ KAFKA_TOPIC_PREFIX: bad }, '/x'), bad).to.throw(ConfigError, /^Invalid configuration: KAFKA_TOPIC_PREFIX=/);
    }
    expect(() => loadConfig({ KAFKA_TOPIC_PREFIX: 'p'.repeat(85) }, '/x')).to.throw(/at most 84 characters/);
  });

  it('MCP_MAX_SESSIONS_PER_TENANT: 1000 unset, else a whole number from 1 to 100000, handed to /mcp; refused otherwise naming the variable', () => {
    expect(mcpSessionLimitsFrom(loadConfig({}, '/x'))).to.deep.equal({ maxSessionsPerTenant: 1000 });
    expect(mcpSessionLimitsFrom(loadConfig({ MCP_MAX_SESSIONS_PER_TENANT: '7' }, '/x'))).to.deep.equal({ maxSessionsPerTenant: 7 });
    for (const bad of ['0', '-1', '2.5', 'many', '100001']) {
      expect(() => loadConfig({ MCP_MAX_SESSIONS_PER_TENANT: bad }, '/x'), bad).to.throw(ConfigError, /^Invalid configuration: MCP_MAX_SESSIONS_PER_TENANT=/);
    }
  });

  it('TRUST_PROXY: off, a hop count, or proxy addresses/CIDRs; never "trust everyone"', () => {
    expect(loadConfig({}, '/x')).to.include({ TRUST_PROXY: 'off', RATE_LIMIT_AUTH_FAILURES: 60 });
    expect(trustProxyOption('off')).to.equal(false);
    expect(trustProxyOption('10.0.0.0/8,loopback')).to.equal('10.0.0.0/8,loopback');
    const hops = trustProxyOption(loadConfig({ TRUST_PROXY: '1' }, '/x').TRUST_PROXY) as (a: string, hop: number) => boolean;
    expect([hops('10.0.0.1', 0), hops('10.0.0.1', 1)]).to.deep.equal([true, false]);
    for (const ok of ['192.168.1.10', '10.0.0.0/8, 172.16.0.0/12', 'fd00::/8,loopback', '2']) expect(loadConfig({ TRUST_PROXY: ok }, '/x').TRUST_PROXY).to.equal(ok);
    for (const bad of ['true', 'on', '*', '10.0.0.0/33', 'proxy.internal', '0']) {
      expect(() => loadConfig({ TRUST_PROXY: bad }, '/x'), bad).to.throw(ConfigError, /TRUST_PROXY/);
    }
  });

  it('MCP_ALLOWED_ORIGINS: origins as browsers send them, or * alone; a bad one names the variable and the entry', () => {
    expect(mcpOriginPolicyFrom(loadConfig({}, '/x')), 'the embedded default').to.deep.equal({ loopback: true, allowedOrigins: undefined, allowedHosts: undefined });
    const ok = 'https://app.example.com, http://localhost:5173,chrome-extension://abcdefghijklmnop, https://[::1]:8443';
    expect(mcpOriginPolicyFrom(loadConfig({ MCP_ALLOWED_ORIGINS: ok }, '/x')).allowedOrigins).to.deep.equal([
      'https://app.example.com',
      'http://localhost:5173',
      'chrome-extension://abcdefghijklmnop',
      'https://[::1]:8443',
    ]);
    expect(mcpOriginPolicyFrom(loadConfig({ MCP_ALLOWED_ORIGINS: '*' }, '/x')).allowedOrigins).to.equal('*');
    const bad: Record<string, string> = {
      'https://app.example.com/': '"https://app.example.com/" is not one',
      'app.example.com': '"app.example.com" is not one',
      'https://App.example.com': '"https://App.example.com" is not one',
      'https://app.example.com:443': '"https://app.example.com:443" is not one',
      'https://app.example.com/path': 'is not one',
      'https://user@app.example.com': 'is not one',
      null: '"null" is not one',
      'https://a.example,*': '* goes alone',
    };
    for (const [value, why] of Object.entries(bad)) {
      expect(() => loadConfig({ MCP_ALLOWED_ORIGINS: value }, '/x'), value).to.throw(ConfigError, /^Invalid configuration: MCP_ALLOWED_ORIGINS=.*: expected comma-separated origins as browsers send them \(scheme:\/\/host\[:port\]/);
      expect(() => loadConfig({ MCP_ALLOWED_ORIGINS: value }, '/x'), value).to.throw(ConfigError, why);
    }
  });

  it('MCP_ALLOWED_HOSTS: host names or addresses without port, or * alone; HOST on loopback turns the Host check on', () => {
    expect(mcpOriginPolicyFrom(loadConfig({ HOST: '0.0.0.0', MCP_ALLOWED_HOSTS: 'mcp.example.com, 10.0.0.5,[fd00::1]' }, '/x'))).to.deep.equal({
      loopback: false,
      allowedOrigins: undefined,
      allowedHosts: ['mcp.example.com', '10.0.0.5', '[fd00::1]'],
    });
    for (const host of ['localhost', '127.0.0.1', '127.0.0.53', '::1']) expect(mcpOriginPolicyFrom(loadConfig({ HOST: host }, '/x')).loopback, host).to.equal(true);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'gateway.internal']) expect(mcpOriginPolicyFrom(loadConfig({ HOST: host }, '/x')).loopback, host).to.equal(false);
    for (const value of ['mcp.example.com:443', 'https://mcp.example.com', 'mcp.example.com/mcp', '*,mcp.example.com', 'a b']) {
      expect(() => loadConfig({ MCP_ALLOWED_HOSTS: value }, '/x'), value).to.throw(ConfigError, /^Invalid configuration: MCP_ALLOWED_HOSTS=.*: expected comma-separated host names or IP addresses without port/);
    }
  });

  it('hands the MCP_* settings to the gateway: audit payload policy, result cache, upstream call and connect timeouts, concurrency, health checks, tools/list page size, servers per tenant', () => {
    expect(gatewayOptionsFrom(loadConfig({}, '/x'))).to.deep.equal({
      payloadPolicy: 'store',
      toolsPageSize: 500,
      maxServersPerTenant: 100,
      cacheTtlMs: undefined,
      upstream: { callTimeoutMs: 30_000, connectTimeoutMs: 10_000, connectTimeoutSetting: 'MCP_CONNECT_TIMEOUT_MS', maxConcurrent: 16, healthIntervalMs: 15_000 },
    });
    const env = { MCP_PAYLOAD_POLICY: 'hash-only', MCP_CACHE_TTL_MS: '0', MCP_CALL_TIMEOUT_MS: '2500', MCP_CONNECT_TIMEOUT_MS: '120000', MCP_MAX_CONCURRENT: '4', MCP_HEALTH_INTERVAL_MS: '0', MCP_TOOLS_PAGE_SIZE: '50', MCP_MAX_SERVERS_PER_TENANT: '7' };
    expect(gatewayOptionsFrom(loadConfig(env, '/x'))).to.deep.equal({
      payloadPolicy: 'hash-only',
      toolsPageSize: 50,
      maxServersPerTenant: 7,
      cacheTtlMs: 0,
      upstream: { callTimeoutMs: 2_500, connectTimeoutMs: 120_000, connectTimeoutSetting: 'MCP_CONNECT_TIMEOUT_MS', maxConcurrent: 4, healthIntervalMs: 0 },
    });
  });

  it('MCP_CACHE_TTL_MS: unset (the default follows MCP_PAYLOAD_POLICY), 0 (off) or a lifetime in ms; refused otherwise with CONFIG_INVALID', () => {
    expect(loadConfig({}, '/x').MCP_CACHE_TTL_MS).to.equal(undefined);
    expect(loadConfig({ MCP_CACHE_TTL_MS: '' }, '/x').MCP_CACHE_TTL_MS).to.equal(undefined);
    expect(loadConfig({ MCP_CACHE_TTL_MS: '0' }, '/x').MCP_CACHE_TTL_MS).to.equal(0);
    expect(loadConfig({ MCP_CACHE_TTL_MS: '60000', MCP_PAYLOAD_POLICY: 'hash-only' }, '/x').MCP_CACHE_TTL_MS).to.equal(60_000);
    // What the gateway makes of it: 5 s unset, off unset under hash-only, the operator's value when set (0 = off in every mode).
    const ttl = (env: Record<string, string>) => resultCacheTtlMs(gatewayOptionsFrom(loadConfig(env, '/x')));
    expect(ttl({})).to.equal(5_000);
    expect(ttl({ MCP_PAYLOAD_POLICY: 'hash-only' })).to.equal(0);
    expect(ttl({ MCP_PAYLOAD_POLICY: 'hash-only', MCP_CACHE_TTL_MS: '60000' })).to.equal(60_000);
    expect(ttl({ MCP_CACHE_TTL_MS: '0' })).to.equal(0);
    expect(ttl({ MCP_PAYLOAD_POLICY: 'hash-only', MCP_CACHE_TTL_MS: '0' })).to.equal(0);
    try {
      loadConfig({ MCP_CACHE_TTL_MS: 'forever' }, '/x');
      expect.fail('should throw');
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError).and.include({ code: 'CONFIG_INVALID' });
      expect(fatalErrorText(e)).to.contain('MCP_CACHE_TTL_MS="forever": expected milliseconds, a whole number from 0 (the result cache off) to 86400000 (1 day)');
    }
  });

  it('LLM_CACHE_TTL_MS: unset (the default follows LLM_REDACTION), 0 (off) or a lifetime in ms; refused otherwise with CONFIG_INVALID', () => {
    expect(loadConfig({}, '/x').LLM_CACHE_TTL_MS).to.equal(undefined);
    expect(loadConfig({ LLM_CACHE_TTL_MS: '' }, '/x').LLM_CACHE_TTL_MS).to.equal(undefined);
    expect(loadConfig({ LLM_CACHE_TTL_MS: '0' }, '/x').LLM_CACHE_TTL_MS).to.equal(0);
    expect(loadConfig({ LLM_CACHE_TTL_MS: '600000', LLM_REDACTION: 'hash-only' }, '/x').LLM_CACHE_TTL_MS).to.equal(600_000);
    try {
      loadConfig({ LLM_CACHE_TTL_MS: 'forever' }, '/x');
      expect.fail('should throw');
    } catch (e) {
      expect(e).to.be.instanceOf(ConfigError).and.include({ code: 'CONFIG_INVALID' });
      expect(fatalErrorText(e)).to.contain('LLM_CACHE_TTL_MS="forever": expected milliseconds, a whole number from 0 (the response cache off) to 604800000 (7 days)');
    }
  });

  it('switches adapters by variable and treats empty strings as unset', () => {
    const c = loadConfig({ DATABASE_URL: 'mysql://root@db:3306/openmcp', REDIS_URL: 'redis://r:6379', KAFKA_BROKERS: 'k1:9092,k2:9092', PORT: '' }, '/x');
    expect(c.databaseUrl).to.equal('mysql://root@db:3306/openmcp');
    expect(c.PORT).to.equal(8080);
  });

  const bad: [Record<string, string>, RegExp][] = [
    [{ PORT: 'eighty' }, /PORT="eighty"/],
    [{ PORT: '70000' }, /PORT/],
    [{ DATABASE_URL: 'postgres://x/y' }, /DATABASE_URL.*sqlite:<path> or mysql/],
    [{ KAFKA_BROKERS: 'k1,k2' }, /KAFKA_BROKERS.*host:port/],
    [{ REDIS_URL: 'http://r' }, /REDIS_URL/],
    [{ BATCH_MAX_EVENTS: '0' }, /BATCH_MAX_EVENTS/],
    // Each batch adds its own BatchSealed and BatchAnchored: a batch of 1 or 2 would seal those forever.
    [{ BATCH_MAX_EVENTS: '1' }, /BATCH_MAX_EVENTS="1": expected a whole number of events from 3 .* to 1000000/],
    [{ BATCH_MAX_EVENTS: '2' }, /BATCH_MAX_EVENTS="2": expected a whole number of events from 3/],
    [{ ANCHOR_CONTRACT: '0x1234' }, /ANCHOR_CONTRACT/],
    // The embedded chain mines a block per transaction only: the anchorer waited for a second confirmation for ever.
    [{ CHAIN_CONFIRMATIONS: '2' }, /^Invalid configuration: CHAIN_CONFIRMATIONS=2 needs CHAIN_RPC_URL: the embedded chain mines a block only for a transaction, so a batch's anchor would wait for ever for its second confirmation: set CHAIN_CONFIRMATIONS=1 \(or unset it\), or anchor on a node at CHAIN_RPC_URL$/],
    [{ ANCHORER_PRIVATE_KEY: 'secret-value' }, /ANCHORER_PRIVATE_KEY=\(hidden\)/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ LOG_BUFFER_MAX_BYTES: '16MiB' }, /LOG_BUFFER_MAX_BYTES="16MiB": expected bytes, a whole number from 65536 \(64 KiB\) to 1073741824 \(1 GiB\)$/],
    [{ LOG_BUFFER_MAX_BYTES: '1024' }, /LOG_BUFFER_MAX_BYTES="1024": expected bytes, a whole number from 65536/],
    [{ MCP_PAYLOAD_POLICY: 'redact' }, /MCP_PAYLOAD_POLICY/],
    [{ MCP_TOOLS_PAGE_SIZE: '0' }, /MCP_TOOLS_PAGE_SIZE/],
    [{ MCP_CALL_TIMEOUT_MS: '0' }, /MCP_CALL_TIMEOUT_MS/],
    // Below 1 s nearly every stdio server would be down at each start; above 5 min a hung one holds its callers (and a registration, and a drain) that long.
    [{ MCP_CONNECT_TIMEOUT_MS: '999' }, /MCP_CONNECT_TIMEOUT_MS="999": expected milliseconds, a whole number from 1000 \(1 s\) to 300000 \(5 min\)$/],
    [{ MCP_CONNECT_TIMEOUT_MS: '300001' }, /MCP_CONNECT_TIMEOUT_MS="300001": expected milliseconds, a whole number from 1000/],
    [{ MCP_CONNECT_TIMEOUT_MS: '10s' }, /MCP_CONNECT_TIMEOUT_MS="10s": expected milliseconds, a whole number from 1000/],
    [{ MCP_CACHE_TTL_MS: '-1' }, /MCP_CACHE_TTL_MS="-1": expected milliseconds, a whole number from 0 \(the result cache off\) to 86400000 \(1 day\)$/],
    [{ MCP_CACHE_TTL_MS: '1.5' }, /MCP_CACHE_TTL_MS="1.5": expected milliseconds, a whole number from 0/],
    [{ MCP_CACHE_TTL_MS: '86400001' }, /MCP_CACHE_TTL_MS="86400001": expected milliseconds, a whole number from 0/],
    [{ LEADER_LEASE_MS: '500' }, /LEADER_LEASE_MS/],
    [{ PROJECTION_GAP_REPAIR_MS: '500' }, /PROJECTION_GAP_REPAIR_MS/],
    [{ LLM_CACHE_TTL_MS: '-1' }, /LLM_CACHE_TTL_MS="-1": expected milliseconds, a whole number from 0 \(the response cache off\) to 604800000 \(7 days\)$/],
    [{ LLM_CACHE_TTL_MS: '1.5' }, /LLM_CACHE_TTL_MS="1.5": expected milliseconds, a whole number from 0/],
    [{ LLM_CACHE_TTL_MS: '1h' }, /LLM_CACHE_TTL_MS="1h": expected milliseconds, a whole number from 0/],
    [{ LLM_CACHE_TTL_MS: '604800001' }, /LLM_CACHE_TTL_MS="604800001": expected milliseconds, a whole number from 0/],
  ];
  it('takes CHAIN_CONFIRMATIONS above 1 for a chain of CHAIN_RPC_URL, and 0 or 1 on the embedded one', () => {
    const rpc = { CHAIN_RPC_URL: 'http://node:8545', ANCHOR_CONTRACT: `0x${'ab'.repeat(20)}` };
    expect(loadConfig({ ...rpc, CHAIN_CONFIRMATIONS: '12' }, '/x').CHAIN_CONFIRMATIONS).to.equal(12);
    expect(loadConfig({ CHAIN_CONFIRMATIONS: '0' }, '/x').CHAIN_CONFIRMATIONS).to.equal(0);
    expect(loadConfig({}, '/x').CHAIN_CONFIRMATIONS).to.equal(1);
  });

  for (const [env, re] of bad) {
    it(`stops on ${Object.keys(env)[0]}=${Object.values(env)[0]} naming the variable`, () => {
      expect(() => loadConfig(env, '/x')).to.throw(ConfigError, re);
    });
  }

  it('refuses MCP_PAYLOAD_POLICY=encrypted with LLM_REDACTION=store and an LLM: the sealed instructions would be recorded in clear in the model turns', () => {
    const env = { MCP_PAYLOAD_POLICY: 'encrypted', OPENAI_BASE_URL: 'http://llm.local/v1' };
    expect(() => loadConfig(env, '/x')).to.throw(ConfigError, /MCP_PAYLOAD_POLICY=encrypted with LLM_REDACTION=store: .*set LLM_REDACTION=hash-only/);
    expect(loadConfig({ ...env, LLM_REDACTION: 'hash-only' }, '/x').MCP_PAYLOAD_POLICY).to.equal('encrypted');
    // Without an LLM no model turn is recorded: nothing to refuse.
    expect(loadConfig({ MCP_PAYLOAD_POLICY: 'encrypted' }, '/x').LLM_REDACTION).to.equal('store');
  });

  it('says plainly what a setting expects, as `openmcp start` prints it (was "expected Invalid option: expected …", "expected shorter than 32 characters", "mysql://***@…")', () => {
    const printed = (env: Record<string, string>) => {
      try {
        loadConfig(env, '/x');
      } catch (e) {
        return fatalErrorText(e);
      }
      return expect.fail('should throw');
    };
    expect(printed({ LOG_LEVEL: 'loud' })).to.contain('LOG_LEVEL="loud": expected one of "fatal"|');
    expect(printed({ PORT: '70000' })).to.contain('PORT="70000": expected a port, a whole number from 1 to 65535');
    expect(printed({ OPENMCP_ADMIN_KEY: 'short' })).to.contain('OPENMCP_ADMIN_KEY=(hidden): expected a random key, and this one is shorter than 32 characters; generate one with');
    expect(printed({ DATABASE_URL: 'postgres://x/y' })).to.contain('expected sqlite:<path> or mysql://<user>:<password>@<host>:<port>/<database>');
    for (const env of [{ LOG_LEVEL: 'loud' }, { PORT: 'eighty' }, { BATCH_MAX_EVENTS: '0' }, { OPENMCP_EXAMPLES: 'no' }] as Record<string, string>[]) {
      expect(printed(env), JSON.stringify(env)).to.not.match(/expected (Invalid|Too)/);
    }
  });

  it('says "a number" for text and "a whole number" for a fraction, not zod\'s "received NaN" / "expected int, received number"', () => {
    expect(message({ LLM_TEMPERATURE: 'hot' })).to.equal('Invalid configuration: LLM_TEMPERATURE="hot": expected a number');
    // A port says what a port takes, whatever is wrong with it (was "expected number to be <=65535").
    for (const [name, v] of [['PORT', 'abc'], ['PORT', '1.5'], ['PORT', '70000'], ['PORT', '0'], ['CHAIN_PORT', '-1']]) {
      expect(message({ [name]: v })).to.equal(`Invalid configuration: ${name}="${v}": expected a port, a whole number from 1 to 65535`);
    }
  });

  it('loads CHAIN_RPC_URL + ANCHOR_CONTRACT without an anchorer key: only a process running the anchorer role needs one, and the audit pipeline asks it there (was: every process, "CHAIN_RPC_URL needs ANCHORER_PRIVATE_KEY or ANCHORER_KEYSTORE")', () => {
    const c = loadConfig({ CHAIN_RPC_URL: 'http://node:8545', ANCHOR_CONTRACT: `0x${'11'.repeat(20)}`, OPENMCP_ROLES: 'api' }, '/x');
    expect(c.CHAIN_RPC_URL).to.equal('http://node:8545');
    expect(c.ANCHORER_PRIVATE_KEY).to.equal(undefined);
    expect(c.ANCHORER_KEYSTORE).to.equal(undefined);
  });

  it('CHAIN_RPC_URL: an http(s) JSON-RPC URL; ws:// and wss:// are refused at start naming the variable (was: accepted, then every chain call failed "unsupported protocol ws")', () => {
    expect(loadConfig({ CHAIN_RPC_URL: 'https://rpc.example/eth' }, '/x').CHAIN_RPC_URL).to.equal('https://rpc.example/eth');
    for (const url of ['ws://node:8546', 'wss://rpc.example/ws']) {
      expect(() => loadConfig({ CHAIN_RPC_URL: url }, '/x'), url).to.throw(
        `Invalid configuration: CHAIN_RPC_URL="${url}": expected the node's HTTP JSON-RPC endpoint, http:// or https:// (WebSocket is not supported: a ws:// URL an earlier release took needs the node's http:// one, often another port)`,
      );
    }
    expect(() => loadConfig({ CHAIN_RPC_URL: 'node:8545' }, '/x')).to.throw(`Invalid configuration: CHAIN_RPC_URL="node:8545": expected the node's HTTP JSON-RPC endpoint, http:// or https://`);
  });

  it('CHAIN_ID: the chain id CHAIN_RPC_URL must serve (a whole number), only with CHAIN_RPC_URL', () => {
    expect(loadConfig({ CHAIN_RPC_URL: 'https://rpc.example/eth', CHAIN_ID: '1' }, '/x').CHAIN_ID).to.equal(1);
    expect(loadConfig({}, '/x').CHAIN_ID).to.equal(undefined);
    expect(() => loadConfig({ CHAIN_RPC_URL: 'https://rpc.example/eth', CHAIN_ID: 'mainnet' }, '/x')).to.throw('Invalid configuration: CHAIN_ID="mainnet": expected a number');
    expect(() => loadConfig({ CHAIN_ID: '1' }, '/x')).to.throw('Invalid configuration: CHAIN_ID is set but CHAIN_RPC_URL is not (the embedded chain is 31337)');
  });

  it('ANCHOR_MAX_FEE_GWEI: gwei per gas, decimals allowed (L2s), more than 0; refused otherwise naming the variable', () => {
    expect(loadConfig({ ANCHOR_MAX_FEE_GWEI: '50' }, '/x').ANCHOR_MAX_FEE_GWEI).to.equal('50');
    expect(loadConfig({ ANCHOR_MAX_FEE_GWEI: '0.05' }, '/x').ANCHOR_MAX_FEE_GWEI).to.equal('0.05');
    expect(loadConfig({}, '/x').ANCHOR_MAX_FEE_GWEI).to.equal(undefined);
    for (const v of ['0', '0.0', '-1', '1e-7', '1.0000000001', 'fifty']) {
      expect(() => loadConfig({ ANCHOR_MAX_FEE_GWEI: v }, '/x'), v).to.throw(`Invalid configuration: ANCHOR_MAX_FEE_GWEI="${v}"`);
    }
  });

  it('ANCHORER_LOW_FUNDS_ANCHORS: anchors the balance must cover (default 1000, 0: never alert); refused otherwise naming the variable', () => {
    expect(loadConfig({}, '/x').ANCHORER_LOW_FUNDS_ANCHORS).to.equal(1000);
    expect(loadConfig({ ANCHORER_LOW_FUNDS_ANCHORS: '0' }, '/x').ANCHORER_LOW_FUNDS_ANCHORS).to.equal(0);
    expect(loadConfig({ ANCHORER_LOW_FUNDS_ANCHORS: '50' }, '/x').ANCHORER_LOW_FUNDS_ANCHORS).to.equal(50);
    for (const v of ['-1', '1.5', 'many']) {
      expect(() => loadConfig({ ANCHORER_LOW_FUNDS_ANCHORS: v }, '/x'), v).to.throw(`Invalid configuration: ANCHORER_LOW_FUNDS_ANCHORS="${v}"`);
    }
  });

  it('refuses a private key that is 64 hex digits but no secp256k1 key (zero, or at or above the curve order), naming the variable, never the key', () => {
    const n = 'fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141';
    for (const variable of ['ANCHORER_PRIVATE_KEY', 'SEALER_PRIVATE_KEY', 'AGENT_PRIVATE_KEY']) {
      for (const key of [`0x${'00'.repeat(32)}`, `0x${n}`, `0x${n.toUpperCase()}`, `0x${'ff'.repeat(32)}`]) {
        let err: unknown;
        try {
          loadConfig({ [variable]: key }, '/x');
        } catch (e) {
          err = e;
        }
        expect(err, `${variable}=${key}`).to.be.instanceOf(ConfigError);
        expect((err as ConfigError).code).to.equal('CONFIG_INVALID');
        expect((err as ConfigError).message).to.equal(
          `Invalid configuration: ${variable}=(hidden): expected a secp256k1 private key (0x and 64 hex digits, above 0 and below the curve order)`,
        );
        expect((err as ConfigError).message).to.not.include(key.slice(2, 20));
      }
      // n − 1 and 1 are keys.
      expect(loadConfig({ [variable]: `0x${n.slice(0, -1)}0` }, '/x')[variable as 'SEALER_PRIVATE_KEY']).to.be.a('string');
      expect(loadConfig({ [variable]: `0x${'00'.repeat(31)}01` }, '/x')[variable as 'SEALER_PRIVATE_KEY']).to.be.a('string');
    }
  });

  it('KURRENTDB_URL: a connection string as the KurrentDB client reads it, a cluster\'s several nodes included (was: refused, the URL parser taking n1:2113,n2:2113 for one host with a bad port); refused otherwise naming the variable and what the client expected', () => {
    for (const ok of [
      'kurrentdb://kurrentdb:2113?tls=false',
      'kurrentdb://admin:changeit@node1:2113,node2:2113,node3:2113?nodePreference=follower',
      'kurrentdb+discover://admin:changeit@cluster.example.com:2113',
      'kurrent://node1:2113,node2:2113?tls=false&nodePreference=leader',
      'esdb://localhost:2113?tls=false',
    ]) {
      expect(loadConfig({ KURRENTDB_URL: ok }, '/x').KURRENTDB_URL, ok).to.equal(ok);
      // And the client made from it (src/eventstore/kurrentdb/KurrentEventStore.ts), which connects lazily.
      expect(() => KurrentDBClient.connectionString(ok), ok).to.not.throw();
    }
    for (const [bad, expected] of [
      ['http://node1:2113', /expected a KurrentDB connection string .*kurrentdb:\/\/node1:2113,node2:2113,node3:2113.*: at position 0 the client expected kurrentdb:\/\//],
      ['kurrentdb://node1:port', /at position \d+ the client expected port number$/],
      ['kurrentdb://node1:2113?tls=maybe', /at position \d+ the client expected true or false$/],
    ] as const) {
      expect(() => loadConfig({ KURRENTDB_URL: bad }, '/x'), bad).to.throw(ConfigError, /^Invalid configuration: KURRENTDB_URL=/).and.match(expected);
    }
  });

  it('KURRENTDB_URL: an option the client does not read, or a certificate file it cannot find, is refused at start naming it, the connection string printed nowhere (was: taken, then the client printed it whole, password included, and ignored the option; or the store failed to open after the database was migrated)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-kurrent-files-'));
    const [ca, cert, key] = ['ca.crt', 'user.crt', 'user.key'].map((f) => join(dir, f));
    for (const f of [ca, cert, key]) writeFileSync(f, 'x');
    const printed: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
    try {
      for (const ok of [
        `kurrentdb://admin:s3cretpw@n1:2113,n2:2113?tlsCAFile=${ca}`,
        `kurrentdb://n1:2113?userCertFile=${cert}&userKeyFile=${key}`,
      ]) {
        expect(loadConfig({ KURRENTDB_URL: ok }, '/x').KURRENTDB_URL, ok).to.equal(ok);
        // The client reads the certificate's PEM (this one is none): files that exist are all the check asks.
        if (!ok.includes('userCertFile')) expect(() => KurrentDBClient.connectionString(ok), ok).to.not.throw();
      }
      for (const [bad, expected] of [
        ['kurrentdb://admin:s3cretpw@n1:2113?tls=false&tlsCaFlie=/certs/ca.crt', /the client does not read the option tlsCaFlie/],
        ['kurrentdb://admin:s3cretpw@n1:2113?tlsCAFile=/nonexistent/ca.crt', /tlsCAFile \/nonexistent\/ca\.crt does not exist/],
        // Read by the client's native part even without TLS.
        ['kurrentdb://admin:s3cretpw@n1:2113?tls=false&tlsCAFile=/nonexistent/ca.crt', /tlsCAFile \/nonexistent\/ca\.crt does not exist/],
        [`kurrentdb://admin:s3cretpw@n1:2113?userCertFile=${cert}`, /userCertFile and userKeyFile go together/],
        [`kurrentdb://admin:s3cretpw@n1:2113?userCertFile=${cert}&userKeyFile=/nonexistent/user.key`, /userKeyFile \/nonexistent\/user\.key does not exist/],
      ] as const) {
        printed.length = 0;
        expect(() => loadConfig({ KURRENTDB_URL: bad }, '/x'), bad).to.throw(ConfigError, /^Invalid configuration: KURRENTDB_URL="kurrentdb:\/\/\*\*\*:\*\*\*@/).and.match(expected).and.not.match(/s3cretpw/);
        expect(printed.join('\n'), `${bad}: printed nothing`).to.equal('');
      }
    } finally {
      console.warn = warn;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('DATABASE_URL: a MySQL URL that parses, names its database and carries no option but ssl; refused otherwise naming the variable, never the password (was: a password holding / or # stopped the start "ERR_INVALID_URL: Invalid URL", naming nothing; ?ssl=true was ignored without a word, the connection in clear)', () => {
    const ok = 'mysql://openmcp:ab%2Fcd%2Bef%3D@db:3306/openmcp';
    expect(loadConfig({ DATABASE_URL: ok }, '/x').databaseUrl).to.equal(ok);
    expect(loadConfig({ DATABASE_URL: 'mariadb://root@127.0.0.1/openmcp' }, '/x').databaseUrl).to.equal('mariadb://root@127.0.0.1/openmcp');
    // TLS: the one option read (src/db/mysql-url.ts), so an upgrade keeps a URL that asked for it, and gets it.
    for (const tls of ['?ssl=true', '?ssl=false', '?ssl={"rejectUnauthorized":false}', '?ssl={"verifyIdentity":false}']) {
      expect(loadConfig({ DATABASE_URL: `${ok}${tls}` }, '/x').databaseUrl, tls).to.equal(`${ok}${tls}`);
    }
    expect(loadConfig({ DATABASE_URL: 'mysql://root@10.0.0.5:3306/openmcp?ssl={"verifyIdentity":false}' }, '/x').databaseUrl).to.include('10.0.0.5');
    for (const [bad, expected] of [
      ['mysql://openmcp:ab/cd+ef=@db:3306/openmcp', /percent-encode.*\/ as %2F/],
      ['mysql://openmcp:ab#cd@db:3306/openmcp', /percent-encode/],
      ['mysql://openmcp:12/ab@db:3306/openmcp', /percent-encode/],
      ['mysql://openmcp:12?ab@db:3306/openmcp', /percent-encode.*\? as %3F/],
      ['mysql://openmcp:ab%cd@db:3306/openmcp', /percent-encode.*% as %25/],
      ['mysql://root@db:3306', /names no database/],
      ['mysql://root@db:3306/openmcp?charset=latin1', /takes one option after \?, ssl \(charset is not read: remove it\)/],
      ['mysql://root@db:3306/openmcp?ssl=required', /ssl takes ssl=true .*ssl=false$/],
      ['mysql://root@db:3306/openmcp?ssl={"ca":"x"}', /ssl takes ssl=true/],
      ['mysql://root@db:3306/openmcp?ssl=true&ssl=false', /ssl is given more than once/],
      // mysql2 would check the name `localhost` against the certificate: ssl=true says it cannot.
      ['mysql://root@10.0.0.5:3306/openmcp?ssl=true', /cannot do for an IP address: .*ssl=\{"verifyIdentity":false\}/],
    ] as const) {
      let message = '';
      try {
        loadConfig({ DATABASE_URL: bad }, '/x');
      } catch (e) {
        expect(e, bad).to.be.instanceOf(ConfigError);
        message = (e as Error).message;
      }
      expect(message, bad).to.match(/^Invalid configuration: DATABASE_URL=/).and.match(expected);
      for (const secret of ['cd+ef', 'ab#cd', '12/ab', '12?ab', 'ab%cd']) expect(message, bad).to.not.include(secret);
    }
  });

  it('masks the credentials of a refused URL setting in its message (was: printed whole, a database\'s or KurrentDB\'s password and a chain provider\'s key with it)', () => {
    for (const env of [
      { DATABASE_URL: 'postgres://openmcp:s3cretpw@db:5432/openmcp' },
      { REDIS_URL: 'http://:s3cretpw@redis:6379' },
      { KURRENTDB_URL: 'kurrentdb://admin:s3cretpw@node1:2113,node2:port' },
      { KURRENTDB_URL: 'kurrentdb://admin:s3cretpw 2@node1:2113,node2:port' },
      { DATABASE_URL: 'mysql:/openmcp:s3cretpw@db/openmcp' },
      { DATABASE_URL: 'mysql://openmcp:s3cretpw 2@db:3306' },
      { OPENAI_BASE_URL: 'ftp://user:s3cretpw@llm.example.com/v1' },
    ] as Record<string, string>[]) {
      const text = message(env);
      expect(text, JSON.stringify(env)).to.match(new RegExp(`^Invalid configuration: ${Object.keys(env)[0]}=`));
      expect(text, JSON.stringify(env)).to.not.include('s3cretpw');
    }
    const rpc = message({ CHAIN_RPC_URL: 'wss://mainnet.infura.io/ws/v3/0f1e2d3c4b5a69788796a5b4c3d2e1f0' });
    expect(rpc).to.include('CHAIN_RPC_URL="wss://mainnet.infura.io/ws/v3/***"');
  });

  it('never echoes a secret value in the message', () => {
    try {
      loadConfig({ ANCHORER_PRIVATE_KEY: 'super-secret-value' }, '/x');
      expect.fail('should throw');
    } catch (e) {
      expect((e as Error).message).to.not.include('super-secret-value');
    }
  });

  it('reads an optional YAML or JSON file; the environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-cfg-'));
    try {
      writeFileSync(join(dir, 'c.yaml'), 'PORT: 9001\nHOST: 0.0.0.0\n');
      const c = loadConfig({ OPENMCP_CONFIG: 'c.yaml', HOST: '127.0.0.2' }, dir);
      expect(c.PORT).to.equal(9001);
      expect(c.HOST).to.equal('127.0.0.2');
      writeFileSync(join(dir, 'c.json'), '{"PORTT": 1}');
      expect(() => loadConfig({ OPENMCP_CONFIG: 'c.json' }, dir)).to.throw(ConfigError, /unknown setting PORTT/);
      writeFileSync(join(dir, 'bad.json'), '{');
      expect(() => loadConfig({ OPENMCP_CONFIG: 'bad.json' }, dir)).to.throw(ConfigError, /not valid JSON/);
      expect(() => loadConfig({ OPENMCP_CONFIG: 'missing.json' }, dir)).to.throw(ConfigError, /cannot read/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
