import { expect } from 'chai';
import * as cli from '../../src/sdk/payload-note';

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
});
