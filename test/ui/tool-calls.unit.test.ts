import { expect } from 'chai';
import { failureOf } from '../../src/mcp/call-failure';
import { UpstreamProtocolError } from '../../src/mcp/errors';
import { errorDigest } from '../../src/sdk/error-digest';
import * as cli from '../../src/sdk/payload-note';
import { elementsOf, textOf, type VNode } from './support/vnode-text';

type Filter = { server?: string; tool?: string; status?: string; taskId?: string };
const MODULE: string = '../../ui/app/tool-calls.js';
const load = async () =>
  (await import(MODULE)) as {
    callFilter(q: Record<string, string>): Filter;
    toolCallsPath(f: Filter, cursor?: string, limit?: number): string;
    toolCallsHash(f: Filter): string;
    callName(c: { server: string; tool: string }): string;
    payloadState(c: object, part: 'arguments' | 'result'): string;
    payloadNote(state: string, part: 'arguments' | 'result'): string;
    hashScheme(c: object, part: 'arguments' | 'result'): { scheme: string; salt?: string; text: string } | undefined;
    errorDigest(c: object): { scheme: string; salt?: string; text: string } | undefined;
  };
const VIEW: string = '../../ui/app/views/tool-call.js';
const loadView = async () =>
  (await import(VIEW)) as {
    PayloadHash(p: { c: object; part: 'arguments' | 'result'; title: string }): unknown;
    ErrorFact(p: { c: object }): unknown;
  };
const ROUTE: string = '../../ui/app/route.js';
const loadRoute = async () => (await import(ROUTE)) as { parseRoute(h: string): string[]; routeQuery(h: string): Record<string, string> };

const HASH = `0x${'ab'.repeat(32)}`;

describe('dashboard tool calls: filters, links and payload notes', () => {
  it('keeps the filters the API knows, trimmed, and drops an unknown status or key', async () => {
    const { callFilter } = await load();
    expect(callFilter({ server: ' examples ', tool: '', status: 'failed', x: '1' })).to.deep.equal({ server: 'examples', status: 'failed' });
    expect(callFilter({ status: 'odd', taskId: 't1' })).to.deep.equal({ taskId: 't1' });
    expect(callFilter({})).to.deep.equal({});
  });

  it('builds the REST page path and the page link, values escaped, the cursor last', async () => {
    const { toolCallsPath, toolCallsHash } = await load();
    expect(toolCallsPath({})).to.equal('/v1/tool-calls?limit=50');
    expect(toolCallsPath({ status: 'completed', server: 'a b&c' }, 'c/1=', 20)).to.equal('/v1/tool-calls?limit=20&server=a%20b%26c&status=completed&cursor=c%2F1%3D');
    expect(toolCallsHash({})).to.equal('#/tool-calls');
    expect(toolCallsHash({ tool: 'echo', server: undefined, taskId: 'x?y' })).to.equal('#/tool-calls?tool=echo&taskId=x%3Fy');
  });

  it('reads a link it built back into the same filter (route and query apart)', async () => {
    const { toolCallsHash, callFilter } = await load();
    const { parseRoute, routeQuery } = await loadRoute();
    const f = { server: 'a b&c=d', tool: 'ünï', status: 'requested', taskId: '01937a6e-7f00-7000-8000-000000000001' };
    const hash = toolCallsHash(f);
    expect(parseRoute(hash)).to.deep.equal(['tool-calls']);
    expect(callFilter(routeQuery(hash))).to.deep.equal(f);
    expect(routeQuery('#/tool-calls')).to.deep.equal({});
    expect(routeQuery('#/tool-calls?server=50%&&tool')).to.deep.equal({ server: '50%', tool: '' });
    expect(parseRoute('#/tool-calls/abc?x=1')).to.deep.equal(['tool-calls', 'abc']);
  });

  it('names the tool as the gateway serves it', async () => {
    const { callName } = await load();
    expect(callName({ server: 'examples', tool: 'echo' })).to.equal('examples__echo');
  });

  it('says why a payload is missing: hash only, no answer yet, or none', async () => {
    const { payloadState } = await load();
    expect(payloadState({ status: 'completed', arguments: {}, argumentsHash: HASH }, 'arguments')).to.equal('shown');
    expect(payloadState({ status: 'completed', argumentsHash: HASH, resultHash: HASH }, 'arguments')).to.equal('hashOnly');
    expect(payloadState({ status: 'completed', resultHash: HASH }, 'result')).to.equal('hashOnly');
    expect(payloadState({ status: 'requested', argumentsHash: HASH }, 'result')).to.equal('pending');
    expect(payloadState({ status: 'failed', argumentsHash: HASH }, 'result')).to.equal('none');
    expect(payloadState({ status: 'completed', result: { content: [] } }, 'result')).to.equal('shown');
    // Recorded encrypted, its subject's key erased since (MCP_PAYLOAD_POLICY=encrypted): not hash-only.
    expect(payloadState({ status: 'completed', argumentsHash: HASH, argumentsErased: true, resultHash: HASH }, 'arguments')).to.equal('erased');
    expect(payloadState({ status: 'completed', resultHash: HASH, resultErased: true }, 'result')).to.equal('erased');
  });

  // The CLI (openmcp tool-calls show) says the same from its twin, src/sdk/payload-note.ts: it
  // said "not recorded (MCP_PAYLOAD_POLICY=hash-only)" for every payload kept by its hash only.
  it('decides and words it as the CLI does (src/sdk/payload-note.ts)', async () => {
    const ui = await load();
    const calls = [
      { status: 'completed', arguments: {}, argumentsHash: HASH, result: { content: [] }, resultHash: HASH },
      { status: 'completed', argumentsHash: HASH, resultHash: HASH },
      { status: 'completed', argumentsHash: HASH, argumentsErased: true, resultHash: HASH, resultErased: true },
      { status: 'requested', argumentsHash: HASH },
      { status: 'requested' },
      { status: 'failed', argumentsHash: HASH },
    ] as const;
    for (const c of calls) {
      for (const part of ['arguments', 'result'] as const) expect(ui.payloadState(c, part), `${JSON.stringify(c)} ${part}`).to.equal(cli.payloadState(c, part));
    }
    for (const state of ['erased', 'hashOnly', 'pending', 'none'] as const) {
      for (const part of ['arguments', 'result'] as const) expect(ui.payloadNote(state, part), `${state} ${part}`).to.equal(cli.payloadNote(state, part));
    }
    expect(cli.payloadNote('hashOnly', 'result')).to.equal('Not recorded, only its hash: MCP_PAYLOAD_POLICY=hash-only, more than 256 KiB of JSON, or arguments a model wrote under LLM_REDACTION=hash-only.');
  });

  // A salted hash (MCP_PAYLOAD_POLICY=encrypted, 2026-12-11) is no SHA-256 of the payload shown: the
  // page showed it as "Arguments hash" alone, so whoever checked it with SHA-256 found a mismatch.
  it('names the scheme and salt of a salted hash, as the CLI does, and nothing for a plain SHA-256', async () => {
    const { hashScheme } = await load();
    const salt = `0x${'cd'.repeat(32)}`;
    const scheme = 'hmac-sha256-salted-v1';
    expect(hashScheme({ argumentsHash: HASH, arguments: {}, argumentsHashScheme: scheme, argumentsSalt: salt }, 'arguments')).to.deep.equal({
      scheme,
      salt,
      text: `HMAC-SHA256 keyed by the salt below, over the canonical JSON (${scheme})`,
    });
    expect(hashScheme({ resultHash: HASH, result: {}, resultHashScheme: scheme, resultSalt: salt }, 'arguments')).to.equal(undefined);
    expect(hashScheme({ resultHash: HASH, result: {}, resultHashScheme: scheme, resultSalt: salt }, 'result')?.salt).to.equal(salt);
    expect(hashScheme({ argumentsHash: HASH, arguments: {} }, 'arguments')).to.equal(undefined);
    // Erased: the API shows the scheme without the salt (2026-12-11); the hash then confirms nothing (docs/security.md).
    expect(hashScheme({ argumentsHash: HASH, argumentsErased: true, argumentsHashScheme: scheme }, 'arguments')).to.deep.equal({
      scheme,
      text: `HMAC-SHA256 keyed by a salt erased with the subject's key, over the canonical JSON (${scheme}): not a SHA-256, and nothing checks it now`,
    });
  });

  // A failed call's withheld message under MCP_PAYLOAD_POLICY=encrypted ends with a salted digest
  // (ToolCallFailed v2) whose salt the API shows as errorSalt: the page showed the message alone, so
  // the digest could not be checked from the dashboard as from `openmcp tool-calls show`.
  it("names a withheld error's salted digest with its salt, as it does a payload's, and 'salt erased' after an erasure; decided as the CLI does", async () => {
    const ui = await load();
    const { PayloadHash, ErrorFact } = await loadView();
    const salt = `0x${'cd'.repeat(32)}`;
    const scheme = 'hmac-sha256-salted-v1';
    const upstream = new UpstreamProtocolError(-32602, 'no such account: 4711');
    const salted = { status: 'failed', argumentsHash: HASH, error: failureOf(upstream, 'encrypted', salt), errorSalt: salt };
    const erased = { status: 'failed', argumentsHash: HASH, error: salted.error };
    const unsalted = [
      { status: 'failed', error: failureOf(upstream, 'hash-only') },
      { status: 'failed', error: failureOf(upstream, 'store') },
      { status: 'failed', error: failureOf(upstream, 'encrypted') },
      { status: 'completed' },
    ];
    expect(salted.error.message).to.match(/, hmac-sha256-salted-v1 0x[0-9a-f]{64}$/);
    for (const c of [salted, erased, ...unsalted]) {
      const d = ui.errorDigest(c);
      expect(d && { scheme: d.scheme, ...(d.salt ? { salt: d.salt } : {}) }, JSON.stringify(c)).to.deep.equal(errorDigest(c));
    }
    expect(errorDigest(salted)).to.deep.equal({ scheme, salt });
    expect(errorDigest(erased)).to.deep.equal({ scheme });
    for (const c of unsalted) expect(errorDigest(c), JSON.stringify(c)).to.equal(undefined);

    const noteOf = (tree: unknown, of: string) => elementsOf(tree, (e) => e.props['data-hash-scheme'] === of);
    const codes = (tree: unknown) => elementsOf(tree, (e) => e.type === 'code').map((e) => e.props.title as string);
    // Shown as a payload's salted hash is: its scheme's words, then the salt in full for copying.
    const payload = noteOf(PayloadHash({ c: { argumentsHash: HASH, arguments: {}, argumentsHashScheme: scheme, argumentsSalt: salt }, part: 'arguments', title: 'Arguments hash' }), 'arguments');
    const shown = ErrorFact({ c: salted });
    const [note] = noteOf(shown, 'error');
    expect(note, 'the note beside the error').to.not.equal(undefined);
    expect((note as VNode).props.class).to.equal((payload[0] as VNode).props.class);
    expect(textOf(note)).to.match(/^The digest it ends with: HMAC-SHA256 keyed by the salt below, over the withheld message's canonical JSON \(hmac-sha256-salted-v1\); salt 0xcdcdcd…cdcdcd$/);
    expect(codes(note)).to.deep.equal([salt]);
    expect(codes(payload)).to.deep.equal([salt]);
    expect(textOf(shown)).to.contain(`${salted.error.code}: ${salted.error.message}`);
    // Erased with the subject's key: the scheme stays, the salt is gone, and the digest checks nothing.
    const [gone] = noteOf(ErrorFact({ c: erased }), 'error');
    expect(textOf(gone)).to.equal(
      "The digest it ends with: HMAC-SHA256 keyed by a salt erased with the subject's key, over the withheld message's canonical JSON (hmac-sha256-salted-v1): not a SHA-256, and nothing checks it now",
    );
    expect(codes(gone)).to.deep.equal([]);
    // hash-only's plain `sha256 <hash>` and store's message get none; a call without an error no fact.
    for (const c of unsalted.slice(0, 3)) expect(noteOf(ErrorFact({ c }), 'error'), JSON.stringify(c)).to.deep.equal([]);
    expect(ErrorFact({ c: { status: 'completed' } })).to.equal(null);
  });
});
