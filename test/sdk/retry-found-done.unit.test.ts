import { expect } from 'chai';
import { ConflictApiError, NotFoundApiError, OpenMcpClient } from '../../src/sdk';

/** A fetch whose first DELETE loses its answer (the server may have done it), then answers `then`. */
function losingThen(then: { status: number; code: string }): typeof fetch {
  let calls = 0;
  return async () => {
    if (calls++ === 0) throw new TypeError('fetch failed (answer lost)');
    const body = JSON.stringify({ type: `https://openmcp.dev/errors#${then.code.toLowerCase()}`, title: 'Error', status: then.status, code: then.code, detail: 'x' });
    return new Response(body, { status: then.status, headers: { 'content-type': 'application/problem+json' } });
  };
}

const client = (f: typeof fetch) => new OpenMcpClient({ baseUrl: 'http://127.0.0.1:1', apiKey: 'k', fetch: f, maxRetryDelayMs: 1 });
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e);
const ID = '0193a0c0-0000-7000-8000-000000000001';

/**
 * keys.revoke and mcpServers.remove resolve when their retry finds the work done (docs/errors.md):
 * the retry's 409 INVALID_TRANSITION (revoked already, removed already). Any other refusal on the
 * retry is not the lost attempt's work: a 404 NOT_FOUND (an id the tenant never had: a typo), a
 * 404 ROUTE_NOT_FOUND (a proxy or a release without the route) or a 409 WRONG_EXPECTED_REVISION
 * must still throw.
 */
describe('SDK: a retry "finds it done" only on the refusal that says so', () => {
  it('keys.revoke resolves on the retry\'s 409 INVALID_TRANSITION', async () => {
    expect(await failure(client(losingThen({ status: 409, code: 'INVALID_TRANSITION' })).keys.revoke(ID))).to.equal(undefined);
  });

  it('keys.revoke throws on a retry\'s 409 of another code (WRONG_EXPECTED_REVISION)', async () => {
    const err = await failure(client(losingThen({ status: 409, code: 'WRONG_EXPECTED_REVISION' })).keys.revoke(ID));
    expect(err).to.be.instanceOf(ConflictApiError);
    expect(err).to.include({ code: 'WRONG_EXPECTED_REVISION' });
  });

  it('mcpServers.remove resolves on the retry\'s 409 INVALID_TRANSITION (removed already)', async () => {
    expect(await failure(client(losingThen({ status: 409, code: 'INVALID_TRANSITION' })).mcpServers.remove(ID))).to.equal(undefined);
  });

  it('mcpServers.remove throws on a retry\'s 404 NOT_FOUND: the server answers that for an id the tenant never had (a typo), not for one removed (was: resolved, as if removed)', async () => {
    const err = await failure(client(losingThen({ status: 404, code: 'NOT_FOUND' })).mcpServers.remove(ID));
    expect(err).to.be.instanceOf(NotFoundApiError);
    expect(err).to.include({ code: 'NOT_FOUND' });
  });

  it('mcpServers.remove throws on a retry\'s 404 ROUTE_NOT_FOUND (nothing says the server is gone)', async () => {
    const err = await failure(client(losingThen({ status: 404, code: 'ROUTE_NOT_FOUND' })).mcpServers.remove(ID));
    expect(err).to.be.instanceOf(NotFoundApiError);
    expect(err).to.include({ code: 'ROUTE_NOT_FOUND' });
  });
});
