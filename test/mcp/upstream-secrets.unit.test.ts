import { expect } from 'chai';
import fc from 'fast-check';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { MIN_HIDDEN_LENGTH, upstreamSecrets, withoutSecrets, withoutSecretsIn } from '../../src/mcp/upstream-secrets';
import { defaultUpstreamOptions, Upstream } from '../../src/mcp/upstream';
import type { UpstreamSpec } from '../../src/mcp/types';

describe("upstream secrets: the values an upstream's errors must not repeat", () => {
  const url = 'https://mcp.example.com/s/${env:P}/mcp?api_key=${env:K}';
  const env = { P: 'pathvalue', K: 'key%2Fvalue', T: 'tok-0123456789', SHORT: 'abc' };

  it("names a URL's and the headers' references (a URL's value as given and percent-decoded), longest first; values under 4 characters stay", () => {
    const secrets = upstreamSecrets({ url, headers: { Authorization: 'Bearer ${env:T}', 'X-Short': '${env:SHORT}' } }, env);
    expect(secrets).to.deep.equal([
      { value: 'tok-0123456789', shownAs: '${env:T}' },
      { value: 'key%2Fvalue', shownAs: '${env:K}' },
      { value: 'pathvalue', shownAs: '${env:P}' },
      { value: 'key/value', shownAs: '${env:K}' },
    ]);
    expect(withoutSecrets('401: {"authorization":"Bearer tok-0123456789"} at /s/pathvalue/mcp?api_key=key%2Fvalue (key/value) abc', secrets)).to.equal(
      '401: {"authorization":"Bearer ${env:T}"} at /s/${env:P}/mcp?api_key=${env:K} (${env:K}) abc',
    );
    expect(MIN_HIDDEN_LENGTH).to.equal(4);
    // A header's value as sent (trimmed) too.
    expect(withoutSecrets('got "Bearer tok-9876543210"', upstreamSecrets({ headers: { Authorization: 'Bearer ${env:T}' } }, { T: 'tok-9876543210 ' }))).to.equal('got "Bearer ${env:T}"');
    // A URL without references: written down as it is (masked), nothing of it to hide.
    expect(upstreamSecrets({ url: 'https://h/mcp?k=pathvalue' }, env)).to.deep.equal([]);
  });

  it("a stdio server's environment: references by name, values given as such as ***", () => {
    const secrets = upstreamSecrets({ env: { GITHUB_TOKEN: '${env:T}', DSN: 'postgres://app:s3cretpw@db/app', MODE: 'on' } }, env);
    expect(withoutSecrets('token tok-0123456789, dsn postgres://app:s3cretpw@db/app, on', secrets)).to.equal('token ${env:T}, dsn ***, on');
  });

  it('a value quoted escaped: in JSON (\\/, \\", \\\\, \\uXXXX in either case), percent-encoded (%2F, %2f), or mixed', () => {
    const token = 'tok/0123+abc="x\\y"é';
    const secrets = upstreamSecrets({ headers: { Authorization: 'Bearer ${env:T}' } }, { T: token });
    const quoted = [
      JSON.stringify(token),
      // PHP's json_encode escapes "/"; .NET's System.Text.Json writes "+" and '"' as \u002B and \u0022; Go's HTML-safe escapes.
      JSON.stringify(token).replaceAll('/', '\\/'),
      JSON.stringify(token).replaceAll('+', '\\u002B').replaceAll('\\"', '\\u0022').replace('é', '\\u00e9'),
      `"${encodeURIComponent(token)}"`,
      `"${encodeURIComponent(token).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())}"`,
    ];
    for (const text of quoted) expect(withoutSecrets(`401: {"authorization":"Bearer ${text.slice(1, -1)}"}`, secrets), text).to.equal('401: {"authorization":"Bearer ${env:T}"}');
    // Any character of any value, each written in any of those forms (property).
    const forms = (ch: string) => [
      ch,
      JSON.stringify(ch).slice(1, -1),
      Array.from({ length: ch.length }, (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0')}`).join(''),
      Array.from({ length: ch.length }, (_, i) => `\\u${ch.charCodeAt(i).toString(16).padStart(4, '0').toUpperCase()}`).join(''),
      encodeURIComponent(ch),
    ];
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 4, maxLength: 12 }), fc.array(fc.nat(4), { minLength: 12, maxLength: 12 }), (value, picks) => {
        const text = [...value].map((ch, i) => forms(ch)[picks[i]]).join('');
        expect(withoutSecrets(`[${text}]`, upstreamSecrets({ env: { K: value } }, {}))).to.equal('[***]');
      }),
    );
    // Nothing else changes: an escape standing for another character is no match.
    expect(withoutSecrets('tok\\/0123+abc=\\"x\\\\y\\"e', secrets)).to.equal('tok\\/0123+abc=\\"x\\\\y\\"e');
  });

  it('a value inside another is replaced whole first, then the shorter one where it stands alone (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{4,12}$/), fc.stringMatching(/^[a-z0-9]{1,6}$/), (inner, more) => {
        const secrets = upstreamSecrets({ headers: { A: '${env:INNER}', B: '${env:OUTER}' } }, { INNER: inner, OUTER: `${inner}${more}` });
        expect(withoutSecrets(`[${inner}${more}] [${inner}]`, secrets)).to.equal('[${env:OUTER}] [${env:INNER}]');
      }),
    );
  });

  it("an error (its cause, message, stack and fields) and an upstream's error data lose the values; nothing to hide, nothing changed", () => {
    const secrets = upstreamSecrets({ headers: { Authorization: 'Bearer ${env:T}' } }, env);
    const sdk = Object.assign(new Error('Error POSTing to endpoint: {"authorization":"Bearer tok-0123456789"}'), { code: 401, body: 'tok-0123456789' });
    const err = withoutSecretsIn(new TypeError('failed', { cause: sdk }), secrets);
    expect([err.cause === sdk, sdk.message, sdk.stack?.split('\n')[0], sdk.body, sdk.code]).to.deep.equal([
      true,
      'Error POSTing to endpoint: {"authorization":"Bearer ${env:T}"}',
      'Error: Error POSTing to endpoint: {"authorization":"Bearer ${env:T}"}',
      '${env:T}',
      401,
    ]);
    expect(JSON.stringify(sdk.stack)).to.not.include('tok-0123456789');
    expect(withoutSecretsIn({ hint: ['your token tok-0123456789'], n: 1 }, secrets)).to.deep.equal({ hint: ['your token ${env:T}'], n: 1 });
    const data = { hint: 'tok-0123456789' };
    expect(withoutSecretsIn(data, [])).to.equal(data);
    // At any depth (an error's data wrapping a client's error, its config, its headers…), as wellFormed walks it.
    const deep = (leaf: unknown, n: number): unknown => (n === 0 ? leaf : { cause: [deep(leaf, n - 1)] });
    expect(withoutSecretsIn(deep('Bearer tok-0123456789', 40), secrets)).to.deep.equal(deep('Bearer ${env:T}', 40));
    // A cause chain that loops ends all the same.
    const loop: Error & { cause?: unknown } = new Error('a tok-0123456789');
    loop.cause = new Error('b tok-0123456789', { cause: loop });
    expect(JSON.stringify([withoutSecretsIn(loop, secrets).message, (loop.cause as Error).message])).to.not.include('tok-0123456789');
  });
});

describe("Upstream: what it says of a failure names its header and environment secrets, never their values", () => {
  const VAR = `OMC_TEST_SECRET_HEADER_${process.pid}`;
  const SECRET = 'sk0123456789abcdefghijklmnopqrstuvwxyz';
  afterEach(() => delete process.env[VAR]);
  const upstream = (spec: Omit<UpstreamSpec, 'id' | 'tenant' | 'name'>) =>
    new Upstream({ id: 'h-1', tenant: 'acme', name: 'hosted', ...spec }, { ...defaultUpstreamOptions, healthIntervalMs: 0 }, { onHealth: () => {}, onTools: () => {} });
  type Internals = { lastTransportError?: Error; lastStderr: string[]; classify(err: unknown, lost: boolean): Error & { details?: Record<string, unknown> } };

  it("a lost connection quoting the transport's last error: the header's reference, where the quote is cut (300 characters) too", () => {
    process.env[VAR] = SECRET;
    const u = upstream({ transport: 'http', url: 'https://mcp.example.com/mcp', headers: { Authorization: `Bearer \${env:${VAR}}` } });
    const internals = u as unknown as Internals;
    internals.lastTransportError = new Error(`Error POSTing to endpoint (HTTP 401): ${'x'.repeat(240)} token Bearer ${SECRET} refused`);
    const e = internals.classify(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'), true);
    expect(e.message).to.include("the transport's error").and.include('Bearer ${env:');
    expect(e.message).to.not.include(SECRET.slice(0, 6));
    u.kill();
  });

  it("a stdio server's stderr quoting its environment: references by name, values given as such as ***, in the message and details", () => {
    process.env[VAR] = SECRET;
    const u = upstream({ transport: 'stdio', command: 'node', env: { TOKEN: `\${env:${VAR}}`, API_KEY: 'literal-key-value' } });
    const internals = u as unknown as Internals;
    internals.lastStderr = [`Error: token ${SECRET} rejected`, 'API_KEY=literal-key-value'];
    const e = internals.classify(Object.assign(new Error('spawn node ENOENT'), { code: 'ENOENT' }), false);
    expect(e.message).to.include(`token \${env:${VAR}} rejected`).and.include('API_KEY=***');
    expect(JSON.stringify([e.message, e.details])).to.not.include(SECRET).and.not.include('literal-key-value');
    u.kill();
  });
});
