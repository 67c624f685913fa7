import { expect } from 'chai';
import fc from 'fast-check';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SseError } from '@modelcontextprotocol/sdk/client/sse.js';
import { catalog } from '../../events';
import { MCP_HEALTH_CAUSE_KINDS, type McpHealthCause } from '../../events/mcp.events';
import { createEvent } from '../../src/core/envelope';
import { resolveReferences } from '../../src/mcp/env-reference';
import { McpGatewayError, UpstreamProtocolError } from '../../src/mcp/errors';
import { healthCauseText, healthReasonOf } from '../../events/mcp-health-reason';
import { healthCauseOf } from '../../src/mcp/health-cause';
import { healthChangeEvent } from '../../src/mcp/health-change';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { redactUrlsIn } from '../../src/core/errors';
import { mcpServersProjection, type McpServerDoc } from '../../projections/mcp-servers.projection';

const S = 'sk_live_UNIT_4711';

describe("health causes: what the gateway itself says of a failed upstream, without the upstream's text", () => {
  it('classifies by type, code, status, errno and exit, never by message', () => {
    // The SDK's own ConnectionClosed and RequestTimeout, as the gateway wraps them when they are its own.
    const closed = new McpError(ErrorCode.ConnectionClosed, `Connection closed ${S}`);
    const lost = new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `x: MCP error -32000: Connection closed ${S}`, { cause: closed });
    const timedOut = McpError.fromError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: 10_000 });
    const cases: [unknown, McpHealthCause, { code: number | null; signal: NodeJS.Signals | null }?][] = [
      [lost, { kind: 'exited', exitCode: 7 }, { code: 7, signal: null }],
      [lost, { kind: 'exited', signal: 'SIGKILL' }, { code: null, signal: 'SIGKILL' }],
      [lost, { kind: 'connection-closed' }],
      [new McpGatewayError('MCP_UPSTREAM_TIMEOUT', 'x: no answer within 10000 ms', { cause: timedOut }), { kind: 'timeout', timeoutMs: 10_000 }],
      // An McpError of its own is what the upstream answered, whatever its code: -32000 and -32001 too.
      [closed, { kind: 'protocol-error', rpcCode: -32000 }, { code: 7, signal: null }],
      [timedOut, { kind: 'protocol-error', rpcCode: -32001 }],
      [new UpstreamProtocolError(-32000, `ledger locked ${S}`), { kind: 'protocol-error', rpcCode: -32000 }, { code: 7, signal: null }],
      [new UpstreamProtocolError(-32001, `quota timed out ${S}`), { kind: 'protocol-error', rpcCode: -32001 }],
      [new McpError(-32603, `db ${S}`), { kind: 'protocol-error', rpcCode: -32603 }],
      [new UpstreamProtocolError(-32602, `no such account ${S}`), { kind: 'protocol-error', rpcCode: -32602 }],
      [new StreamableHTTPError(403, `Forbidden ${S}`), { kind: 'http-status', httpStatus: 403 }],
      [new StreamableHTTPError(-1, `Unexpected content type: ${S}`), { kind: 'unreachable' }],
      [new SseError(undefined, `stream ${S}`, undefined as never), { kind: 'unreachable' }],
      [new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ECONNREFUSED ${S}`), { code: 'ECONNREFUSED' }) }), { kind: 'unreachable', errno: 'ECONNREFUSED' }],
      [Object.assign(new Error(`spawn /opt/${S} ENOENT`), { code: 'ENOENT', syscall: `spawn /opt/${S}` }), { kind: 'spawn-failed', errno: 'ENOENT' }],
      // Ours, wrapping what happened (classify adds the stderr line to the message and details).
      [new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `x: (stderr: ${S})`, { cause: closed, details: { stderr: S } }), { kind: 'exited', exitCode: 1 }, { code: 1, signal: null }],
      [new McpGatewayError('MCP_UPSTREAM_TIMEOUT', 'x: no answer'), { kind: 'timeout' }],
      [new McpGatewayError('MCP_CIRCUIT_OPEN', 'x: open'), { kind: 'circuit-open' }],
      [new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', 'x: closed'), { kind: 'other' }],
      // Text the SDK builds from what the upstream answered: nothing to classify it by.
      [new Error(`Server's protocol version is not supported: ${S}`), { kind: 'other' }],
      // A "code" that is not a system error code is not taken for one.
      [Object.assign(new Error('x'), { code: `${S} !` }), { kind: 'other' }],
    ];
    for (const [err, want, exit] of cases) expect(healthCauseOf(err, exit), String((err as Error).message)).to.deep.equal(want);
  });

  it("names the variable of a header or env template that cannot be resolved (its name is the registration's, never its value)", () => {
    const unset = (() => {
      try {
        resolveReferences('${env:OMC_UNIT_NOT_SET}', {}, 'env TOKEN', { env: 'TOKEN' });
      } catch (e) {
        return e;
      }
    })();
    expect(healthCauseOf(unset)).to.deep.equal({ kind: 'variable-unset', variable: 'OMC_UNIT_NOT_SET' });
    const unusable = (() => {
      try {
        resolveReferences('${env:V}', { V: `a\0${S}` }, 'env TOKEN', { env: 'TOKEN' }, (v) => (v.includes('\0') ? 'holds a NUL' : undefined));
      } catch (e) {
        return e;
      }
    })();
    expect(healthCauseOf(unusable)).to.deep.equal({ kind: 'variable-unusable', variable: 'V' });
  });

  it('never carries any of the error text, whatever it says (property)', () => {
    const errors = (m: string) => [
      new Error(m),
      new McpError(-32000 - 1, m),
      new McpError(ErrorCode.ConnectionClosed, m),
      new StreamableHTTPError(500, m),
      new TypeError('fetch failed', { cause: new Error(m) }),
      new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', m, { cause: new Error(m), details: { stderr: m } }),
    ];
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 50 }), (tail) => {
        const m = `SECRET-${tail}`;
        for (const e of errors(m)) expect(JSON.stringify(healthCauseOf(e, { code: 3, signal: null }))).to.not.include('SECRET-');
      }),
      { numRuns: 200 },
    );
  });

  it('says each kind in words', () => {
    const said = MCP_HEALTH_CAUSE_KINDS.map((kind) => healthCauseText({ kind }));
    expect(new Set(said).size, said.join(' | ')).to.equal(MCP_HEALTH_CAUSE_KINDS.length);
    expect(healthCauseText({ kind: 'exited', exitCode: 7 })).to.equal('the process exited with code 7');
    expect(healthCauseText({ kind: 'exited', signal: 'SIGKILL' })).to.equal('the process was ended by SIGKILL');
    expect(healthCauseText({ kind: 'unreachable', errno: 'ECONNREFUSED' })).to.equal('connection refused (ECONNREFUSED)');
    expect(healthCauseText({ kind: 'http-status', httpStatus: 401 })).to.equal('the upstream answered HTTP 401');
    expect(healthCauseText({ kind: 'timeout', timeoutMs: 5000 })).to.equal('no answer within 5000 ms');
    expect(healthCauseText({ kind: 'variable-unset', variable: 'GITHUB_TOKEN' })).to.equal('environment variable GITHUB_TOKEN is not set on this gateway');
  });
});

describe('McpServerHealthChanged: what each payload policy records, and how readers show both versions', () => {
  const failure = { reason: `srv: MCP error -32000: Connection closed (stderr: ${S}) ${'x'.repeat(3000)}`, cause: { kind: 'exited', exitCode: 7 } as McpHealthCause };

  it('store: v1 with the reason (bounded), as before; hash-only: v2 with the cause and the digest of that reason, no text', () => {
    const store = healthChangeEvent('down', failure, 'store');
    expect(store).to.deep.equal({ version: 1, data: { status: 'down', reason: failure.reason.slice(0, 2000) } });
    const hashOnly = healthChangeEvent('down', failure, 'hash-only');
    expect(hashOnly).to.deep.equal({ version: 2, data: { status: 'down', cause: { kind: 'exited', exitCode: 7 }, reasonHash: payloadDigest(failure.reason).hash } });
    for (const e of [store, hashOnly]) catalog.validate('McpServerHealthChanged', e.version, e.data);
    expect(JSON.stringify(hashOnly)).to.not.include(S);
    // Up has no reason: v1 under both, as before.
    expect(healthChangeEvent('up', undefined, 'hash-only')).to.deep.equal({ version: 1, data: { status: 'up' } });
  });

  it("store: a URL's credentials are redacted before the reason is cut, so no part of them is kept where the cut falls inside the URL", () => {
    const url = `postgres://app:pw-${S}@db.internal/app`;
    // Cut at 2,000 characters right inside the password: what is left of the URL has no '@' and no valid port.
    const head = 'x'.repeat(2000 - 'postgres://app:pw-sk_live'.length);
    const e = healthChangeEvent('down', { reason: `${head}${url} and more`, cause: { kind: 'other' } }, 'store');
    expect(String(e.data.reason)).to.not.include('pw-sk_live');
    expect(String(e.data.reason)).to.have.length(2000);
    catalog.validate('McpServerHealthChanged', 1, e.data);
  });

  it('store: a reason that redaction lengthens (short credentials, a secret query value) still fits v1 and is recorded', () => {
    const reason = `${'x'.repeat(1950)} http://a:b@h/ https://h/?token=1 https://h/?sig=2 ${'y'.repeat(3000)}`;
    const e = healthChangeEvent('down', { reason, cause: { kind: 'other' } }, 'store');
    expect(() => catalog.validate('McpServerHealthChanged', 1, e.data)).not.to.throw();
    expect(String(e.data.reason)).to.include('http://***:***@h/').and.to.have.length(2000);
  });

  it("hash-only: reasonHash is the digest of the whole reason, URL credentials redacted, the one the gateway's own log holds, however long", () => {
    expect(failure.reason.length).to.be.greaterThan(2000);
    expect(healthChangeEvent('down', failure, 'hash-only').data.reasonHash).to.equal(payloadDigest(redactUrlsIn(failure.reason)).hash);
    const dsn = { reason: 'srv: (stderr: FATAL: postgres://app:pw-HASH-77@db/app)', cause: { kind: 'exited', exitCode: 1 } as McpHealthCause };
    expect(healthChangeEvent('down', dsn, 'hash-only').data.reasonHash).to.equal(payloadDigest('srv: (stderr: FATAL: postgres://***:***@db/app)').hash);
  });

  it('v2 refuses a reason beside a cause (the text the cause stands in for)', () => {
    expect(() => catalog.validate('McpServerHealthChanged', 2, { status: 'down', reason: S, cause: { kind: 'other' } })).to.throw(/not both/);
    expect(() => catalog.validate('McpServerHealthChanged', 2, { status: 'down', cause: { kind: 'other', detail: S } })).to.throw();
  });

  it('the catalog and the read model show v1 reasons as they are and v2 causes in words', () => {
    expect(healthReasonOf({ status: 'down', reason: 'srv: the upstream answered HTTP 403' })).to.equal('srv: the upstream answered HTTP 403');
    expect(healthReasonOf({ status: 'down', cause: { kind: 'exited', exitCode: 7 }, reasonHash: `0x${'a'.repeat(64)}` })).to.equal(
      'the process exited with code 7 (details withheld by the payload policy)',
    );
    expect(healthReasonOf({ status: 'up' })).to.equal(undefined);
    // v2 is recorded under hash-only and under encrypted alike, and names neither: the reason
    // named hash-only on a gateway under encrypted.
    for (const policy of ['hash-only', 'encrypted'] as const) {
      const reason = healthReasonOf(healthChangeEvent('down', failure, policy).data)!;
      expect(reason, policy).to.equal('the process exited with code 7 (details withheld by the payload policy)');
      expect(reason, policy).to.not.include('MCP_PAYLOAD_POLICY');
    }

    const stream = 'mcpserver-s1';
    let revision = 0;
    const ev = (type: string, version: number, data: Record<string, unknown>) => ({
      ...createEvent({ type, version, stream, tenant: 'acme', actor: { kind: 'system', id: 't' }, data }),
      revision: revision++,
      position: revision,
      hash: `0x${'0'.repeat(64)}` as const,
    });
    let doc: McpServerDoc | undefined;
    doc = mcpServersProjection.evolve(doc, ev('McpServerRegistered', 1, { name: 'srv', transport: 'stdio', command: 'x' }));
    doc = mcpServersProjection.evolve(doc, ev('McpServerHealthChanged', 1, { status: 'down', reason: 'srv: old reason' }));
    expect([doc?.health, doc?.healthReason]).to.deep.equal(['down', 'srv: old reason']);
    doc = mcpServersProjection.evolve(doc, ev('McpServerHealthChanged', 1, { status: 'up' }));
    doc = mcpServersProjection.evolve(doc, ev('McpServerHealthChanged', 2, healthChangeEvent('down', failure, 'hash-only').data));
    expect([doc?.health, doc?.healthReason]).to.deep.equal(['down', 'the process exited with code 7 (details withheld by the payload policy)']);
  });
});
