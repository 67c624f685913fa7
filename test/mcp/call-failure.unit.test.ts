import { expect } from 'chai';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { z } from 'zod';
import { recordedFailure } from '../../src/agent/runtime/step-payload';
import { AgentError } from '../../src/agent/errors';
import { failureOf } from '../../src/mcp/call-failure';
import { cancelledError, McpGatewayError, shuttingDownError, UpstreamProtocolError } from '../../src/mcp/errors';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { Web3Error } from '../../src/web3/web3-error';
import { randomBytes } from 'node:crypto';
import { saltedPayloadHash } from '../../src/erasure/salted-hash';

const S = 'sk_live_UNIT_4711';
const DSN = `postgres://app:pw-${S}@db.internal/app`;
const closed = new McpError(ErrorCode.ConnectionClosed, 'Connection closed');
const withheld = (message: string) => `message withheld (MCP_PAYLOAD_POLICY=hash-only), sha256 ${payloadDigest(message).hash}`;

/** The failures a call can end in, each with text of the upstream's (or the caller's) in its message, and what hash-only records in words. */
const CASES: [string, McpGatewayError, string][] = [
  ['a JSON-RPC error the upstream answered', new UpstreamProtocolError(-32050, `license check failed for ${DSN}`), '-32050: upstream error'],
  [
    'a crash, its stderr line and exit',
    new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `crm: MCP error -32000: Connection closed (stderr: FATAL ${DSN})`, { cause: closed, details: { stderr: `FATAL ${DSN}`, exit: { code: 3, signal: null } } }),
    'the process exited with code 3;',
  ],
  ['a lost connection', new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `crm: MCP error -32000: Connection closed ${S}`, { cause: closed }), 'the connection closed;'],
  [
    'a refused connection',
    new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `api: fetch failed: connect ECONNREFUSED ${S}`, {
      cause: new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ECONNREFUSED ${S}`), { code: 'ECONNREFUSED' }) }),
    }),
    'connection refused (ECONNREFUSED);',
  ],
  ['an HTTP status', new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', 'api: the upstream answered HTTP 502', { cause: new StreamableHTTPError(502, `Bad gateway ${S}`) }), 'the upstream answered HTTP 502;'],
  [
    'an answer that is not JSON',
    new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `api: Unexpected token 's', "${S}"... is not valid JSON`, { cause: new SyntaxError(`Unexpected token 's', "${S}"... is not valid JSON`) }),
    "the upstream's answer could not be read (not JSON, or not the shape MCP requires);",
  ],
  [
    'an answer not of the shape MCP requires',
    new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `api: invalid ${S}`, { cause: z.object({ content: z.array(z.string()) }).safeParse({ content: S }).error }),
    "the upstream's answer could not be read (not JSON, or not the shape MCP requires);",
  ],
  ['SDK text quoting the answer', new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', `api: Server's protocol version is not supported: ${S}`, { cause: new Error(`Server's protocol version is not supported: ${S}`) }), 'an unclassified failure;'],
  [
    'a timeout',
    new McpGatewayError('MCP_UPSTREAM_TIMEOUT', 'api: no answer, nor progress, within 30000 ms', { cause: McpError.fromError(ErrorCode.RequestTimeout, 'Request timed out', { timeout: 30_000 }) }),
    'no answer within 30000 ms;',
  ],
  ['a timeout past progress', new McpGatewayError('MCP_UPSTREAM_TIMEOUT', 'api: no answer within 300000 ms …', { cause: new McpError(ErrorCode.RequestTimeout, 'AbortError') }), 'no answer in time;'],
  ['an open circuit', new McpGatewayError('MCP_CIRCUIT_OPEN', 'api: circuit open after repeated failures; retry later'), 'circuit open after repeated failures;'],
  ['a full queue', new McpGatewayError('MCP_UPSTREAM_BUSY', 'upstream api: 16 calls in flight and 256 queued'), 'too many calls in flight and queued;'],
  ["a cancellation, with its caller's reason", cancelledError(AbortSignal.abort(`user gave up on ${S}`)), 'the call was cancelled by its caller or with its session;'],
  ['a variable not set', new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', 'headers.Authorization: environment variable API_TOKEN is not set on this gateway', { details: { variable: 'API_TOKEN', problem: 'unset' } }), 'environment variable API_TOKEN is not set on this gateway;'],
  ['an upstream closed by the gateway', new McpGatewayError('MCP_UPSTREAM_UNAVAILABLE', 'api: closed'), 'the upstream is not connected;'],
  ['a call ended at a drain\'s cut-off', shuttingDownError(), 'the gateway was shutting down;'],
];

describe("failed calls: what ToolCallFailed records of the error, without the upstream's text under hash-only", () => {
  it("hash-only: the code, the gateway's own words and the message's digest, nothing of the message", () => {
    for (const [what, e, words] of CASES) {
      const f = failureOf(e, 'hash-only');
      expect(f, what).to.deep.equal({ code: e.code, message: `${words} ${withheld(e.message)}` });
      expect(f.message, what).to.not.include(S);
    }
  });

  it('encrypted withholds as hash-only does, says which setting withheld it and why (error texts are not sealed, but left out), and salts the digest: no plain SHA-256 of the message', () => {
    const e = new UpstreamProtocolError(-32050, `license check failed for ${DSN}`);
    const salt = randomBytes(32);
    const got = failureOf(e, 'encrypted', salt);
    expect(got.message).to.equal(`-32050: upstream error message withheld (MCP_PAYLOAD_POLICY=encrypted: error texts are not recorded), hmac-sha256-salted-v1 ${saltedPayloadHash(salt, payloadDigest(e.message).json)}`);
    expect(got.message).to.not.include(S).and.not.include('hash-only').and.not.include(payloadDigest(e.message).hash);
    for (const [what, c, words] of CASES) {
      expect(failureOf(c, 'encrypted', salt).message, what).to.equal(`${words} message withheld (MCP_PAYLOAD_POLICY=encrypted: error texts are not recorded), hmac-sha256-salted-v1 ${saltedPayloadHash(salt, payloadDigest(c.message).json)}`);
      // Without a salt (its key could not be had) no digest at all, never the plain SHA-256.
      expect(failureOf(c, 'encrypted').message, what).to.equal(`${words} message withheld (MCP_PAYLOAD_POLICY=encrypted: error texts are not recorded)`);
    }
  });

  it("store: the caller's message as before (an upstream's JSON-RPC error as <code>: <message>), a URL's credentials redacted", () => {
    const redacted = 'postgres://***:***@db.internal/app';
    expect(failureOf(CASES[0][1], 'store')).to.deep.equal({ code: 'MCP_UPSTREAM_ERROR', message: `-32050: license check failed for ${redacted}` });
    expect(failureOf(CASES[1][1], 'store')).to.deep.equal({ code: 'MCP_UPSTREAM_UNAVAILABLE', message: `crm: MCP error -32000: Connection closed (stderr: FATAL ${redacted})` });
    for (const [what, e] of CASES.slice(2)) expect(failureOf(e, 'store'), what).to.deep.equal({ code: e.code, message: e.message });
  });

  it("the agent's TaskStepFailed: the gateway's form under hash-only; under store the message, a URL's credentials redacted", () => {
    const e = CASES[1][1];
    expect(recordedFailure(e, 'hash-only')).to.deep.equal(failureOf(e, 'hash-only'));
    expect(recordedFailure(e, 'store')).to.deep.equal({ code: 'MCP_UPSTREAM_UNAVAILABLE', message: 'crm: MCP error -32000: Connection closed (stderr: FATAL postgres://***:***@db.internal/app)' });
    // The runtime's own errors carry no upstream text: kept, under either policy.
    const own = new AgentError('STEP_TIMEOUT', 'step 0 did not finish within 1000 ms');
    expect(recordedFailure(own, 'hash-only')).to.deep.equal({ code: 'STEP_TIMEOUT', message: own.message });
  });

  it("a chain step's error quoting its RPC's URL (ethers' requestUrl, a provider refusing with 429) is recorded with the API key in the URL's path masked (was: the whole Alchemy key, in the log for good)", () => {
    const key = 'aB3dE_fGh1jKlMn0pQrStUvWx-Yz12';
    const ethers = `server response 429 Too Many Requests (request={  }, response={  }, error=null, info={ "requestUrl": "https://eth-mainnet.g.alchemy.com/v2/${key}", "responseStatus": "429 Too Many Requests" }, code=SERVER_ERROR, version=6.17.0)`;
    const e = new Web3Error('TX_FAILED', `transaction 0x${'ab'.repeat(32)} is unknown to chain 1 and sending it again was refused: ${ethers}`);
    for (const policy of ['store', 'hash-only'] as const) {
      const r = recordedFailure(e, policy);
      expect(r.message).to.not.include(key);
      expect(r.message).to.include('"requestUrl": "https://eth-mainnet.g.alchemy.com/v2/***"');
    }
  });

  it("the agent's TaskStepFailed under encrypted: withheld as under hash-only, in the gateway's encrypted form (naming encrypted, not hash-only)", () => {
    const salt = randomBytes(32);
    for (const [what, e] of CASES) {
      const got = recordedFailure(e, 'encrypted', salt);
      expect(got, what).to.deep.equal(failureOf(e, 'encrypted', salt));
      expect(got.message, what).to.not.include(S).and.not.include('hash-only');
    }
    const own = new AgentError('STEP_TIMEOUT', 'step 0 did not finish within 1000 ms');
    expect(recordedFailure(own, 'encrypted')).to.deep.equal({ code: 'STEP_TIMEOUT', message: own.message });
  });
});

describe('cancelledError', () => {
  it("redacts a URL's credentials in the caller's reason before cutting it to 500 characters (a cut inside the password would hide it from redaction)", () => {
    const password = 'pw-CANCEL-4242-secret';
    // The password straddles character 500 of the message.
    const prefix = 'x'.repeat(500 - 'the call was cancelled by its caller or with its session: '.length - 'postgres://app:pw-CAN'.length);
    const err = cancelledError(AbortSignal.abort(`${prefix}postgres://app:${password}@db.internal/app`));
    expect(err.message.length).to.be.at.most(500);
    expect(err.message).to.not.include('pw-CAN');
    expect(err.message).to.include('postgres://***');
  });
});
