import { expect } from 'chai';
import { createAuthenticator, mcpAuthenticate } from '../../src/auth/authenticator';
import { mcpGatewayPlugin } from '../../src/mcp/gateway-plugin';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';

/**
 * /mcp was listed in /docs without operationIds (tests skipped it on purpose), while
 * docs/interfaces.md says every operation has one: a client generator named its methods after the
 * path, and a reader had nothing saying what the JSON-RPC answers are or where that is written.
 */
describe('/docs: /mcp has operationIds and points to docs/interfaces.md', function () {
  this.timeout(30_000);
  let h: Harness;
  let close: () => Promise<void>;

  before(async () => {
    let gw;
    ({ h, gw, close } = await makeGatewayHarness());
    await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate: mcpAuthenticate(createAuthenticator({ keys: h.keys }), h.deps.rateLimiter) });
  });
  after(async () => close());

  it('OPTIONS, POST, GET and DELETE /mcp: mcpOptions, mcpPost, mcpGet, mcpDelete, each described, unique in the document', async () => {
    const doc = (await h.call({ method: 'GET', url: '/docs' })).json();
    const ops = doc.paths['/mcp'] as Record<string, { operationId?: string; description?: string }>;
    expect(Object.fromEntries(Object.entries(ops).map(([m, op]) => [m, op.operationId]))).to.deep.equal({ options: 'mcpOptions', post: 'mcpPost', get: 'mcpGet', delete: 'mcpDelete' });
    for (const [m, op] of Object.entries(ops)) expect(op.description, m).to.include('docs/interfaces.md, "`/mcp`"');
    const ids = Object.values(doc.paths as Record<string, Record<string, { operationId?: string }>>).flatMap((o) => Object.values(o).map((op) => op.operationId));
    expect(ids.filter((id) => id === undefined), 'operations without an operationId').to.deep.equal([]);
    expect(new Set(ids).size, 'unique').to.equal(ids.length);
  });
});
