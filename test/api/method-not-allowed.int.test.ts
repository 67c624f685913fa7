import { expect } from 'chai';
import { createAuthenticator, mcpAuthenticate } from '../../src/auth/authenticator';
import { mcpGatewayPlugin } from '../../src/mcp/gateway-plugin';
import { uiPlugin } from '../../src/ui';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';

/**
 * A path the API serves, asked with a method it does not serve there: 405 `METHOD_NOT_ALLOWED`
 * with `Allow` naming the methods it does (RFC 9110 §15.5.6), derived from the routes fastify
 * registered; before the key is checked, as a 404 is. Unknown paths stay 404; /mcp answers in
 * JSON-RPC as its other refusals; the dashboard's asset catch-all makes no path known.
 */
describe('405 Method Not Allowed with Allow, from the registered routes', function () {
  this.timeout(30_000);
  let h: Harness;
  let close: () => Promise<void>;
  let viewer: string;
  const ID = '01a24dbd-2b81-7149-8887-50ea0db92900';

  before(async () => {
    let gw;
    ({ h, gw, close } = await makeGatewayHarness());
    const auth = createAuthenticator({ keys: h.keys });
    await h.app.register(mcpGatewayPlugin, { gateway: gw, authenticate: mcpAuthenticate(auth) });
    await h.app.register(uiPlugin, { store: h.store, readModels: h.deps.readModels, authenticate: auth.authenticate });
    viewer = (await h.key('viewer', 'acme')).auth;
  });
  after(async () => close());

  const expect405 = async (method: string, url: string, allow: string, auth?: string) => {
    const res = await h.call({ method: method as 'GET', url, auth, headers: { 'x-request-id': 'wrong-method-1' } });
    expect(res.statusCode, `${method} ${url}: ${res.body}`).to.equal(405);
    expect(res.headers.allow, `${method} ${url}`).to.equal(allow);
    expect(res.headers['content-type']).to.match(/^application\/problem\+json/);
    expect(res.headers['cache-control']).to.equal('no-store');
    expect(res.headers['x-request-id']).to.equal('wrong-method-1');
    const body = res.json();
    expect(body).to.include({ status: 405, title: 'Method Not Allowed', code: 'METHOD_NOT_ALLOWED', requestId: 'wrong-method-1' });
    expect(body.detail).to.equal(`${method} is not served at ${url.split('?')[0]}; it takes ${allow}`);
    return res;
  };

  it('DELETE /v1/tasks, PUT /v1/events and others: 405 naming the methods of the path, HEAD with GET', async () => {
    await expect405('DELETE', '/v1/tasks', 'GET, HEAD, POST');
    await expect405('PUT', '/v1/events?type=x', 'GET, HEAD');
    await expect405('PATCH', `/v1/tasks/${ID}`, 'GET, HEAD');
    await expect405('GET', `/v1/tasks/${ID}/cancel`, 'POST');
    await expect405('POST', `/v1/keys/${ID}`, 'PATCH, DELETE');
    await expect405('OPTIONS', '/v1/keys', 'GET, HEAD, POST');
    await expect405('PUT', '/healthz', 'GET, HEAD');
  });

  it('is answered before the key is checked: the same 405 with no key, a bad key or a good one; no challenge, no rate-limit window spent', async () => {
    const none = await expect405('DELETE', '/v1/tasks', 'GET, HEAD, POST');
    expect(none.headers['www-authenticate']).to.equal(undefined);
    expect(none.headers['ratelimit-limit']).to.equal(undefined);
    await expect405('DELETE', '/v1/tasks', 'GET, HEAD, POST', 'Bearer omk_nonsense');
    await expect405('DELETE', '/v1/tasks', 'GET, HEAD, POST', viewer);
  });

  it('unknown paths stay 404 ROUTE_NOT_FOUND, whatever the method', async () => {
    for (const [method, url] of [['GET', '/v1/nope'], ['DELETE', '/v1/nope'], ['PUT', '/v1/tasks/a/b/c']]) {
      const res = await h.call({ method: method as 'GET', url });
      expect(res.statusCode, `${method} ${url}`).to.equal(404);
      expect(res.json().code).to.equal('ROUTE_NOT_FOUND');
      expect(res.headers.allow).to.equal(undefined);
    }
  });

  it('a URL the router refuses is answered as it is for every method (414, 400), or 404: never a 405 naming methods it does not serve', async () => {
    const long = `/v1/tasks/${'a'.repeat(600)}`;
    for (const method of ['GET', 'PUT', 'PATCH']) {
      const res = await h.call({ method: method as 'GET', url: long });
      expect([404, 414], `${method}: ${res.body}`).to.include(res.statusCode);
      expect(res.headers.allow, method).to.equal(undefined);
    }
    for (const method of ['PUT', 'DELETE']) {
      const res = await h.call({ method: method as 'GET', url: '/v1/tasks/%E0%A4%A/cancel' });
      expect([400, 404], `${method}: ${res.body}`).to.include(res.statusCode);
      expect(res.headers.allow, method).to.equal(undefined);
    }
  });

  it('/mcp: 405 in JSON-RPC, as its other refusals, Allow as its OPTIONS answer says; its own methods keep their answers', async () => {
    for (const method of ['PUT', 'PATCH', 'HEAD']) {
      const res = await h.call({ method: method as 'GET', url: '/mcp' });
      expect(res.statusCode, method).to.equal(405);
      expect(res.headers.allow, method).to.equal('GET, POST, DELETE, OPTIONS');
      if (method !== 'HEAD') expect(res.json()).to.deep.equal({ jsonrpc: '2.0', error: { code: -32001, message: `${method} is not served at /mcp; it takes GET, POST, DELETE, OPTIONS`, data: { code: 'METHOD_NOT_ALLOWED' } }, id: null });
    }
    expect((await h.call({ method: 'OPTIONS', url: '/mcp' })).headers.allow).to.equal('GET, POST, DELETE, OPTIONS');
    expect((await h.call({ method: 'POST', url: '/mcp', payload: {} })).statusCode, 'no key').to.equal(401);
    expect((await h.call({ method: 'DELETE', url: '/mcp' })).statusCode, 'no key').to.equal(401);
  });

  it('/ui: its API and page paths are known (405); a path only its asset catch-all takes stays 404', async () => {
    await expect405('PUT', '/ui/api/config', 'GET, HEAD');
    await expect405('POST', '/ui', 'GET, HEAD');
    for (const url of ['/ui/secret', '/ui/app/main.js']) expect((await h.call({ method: 'PUT', url })).statusCode, url).to.equal(404);
    expect((await h.call({ method: 'GET', url: '/ui/api/config' })).statusCode).to.equal(401);
  });

  // docs/architecture.md: a path no route answers is 404 ROUTE_NOT_FOUND, no-store, under /v1 or not. A GET the
  // asset catch-all took but had no asset for (a mistyped /ui/api route, an asset of another release) was a
  // bare text/plain "not found", cacheable, with no code, where a PUT to the same path was the problem.
  it('/ui: a GET of no asset and no route is 404 ROUTE_NOT_FOUND, no-store, as a PUT to it is', async () => {
    for (const url of ['/ui/api/tasks', '/ui/app/missing.js', '/ui/secret']) {
      for (const method of ['GET', 'PUT']) {
        const res = await h.call({ method: method as 'GET', url });
        expect(res.statusCode, `${method} ${url}`).to.equal(404);
        expect(res.headers['content-type'], `${method} ${url}`).to.match(/^application\/problem\+json/);
        expect(res.headers['cache-control'], `${method} ${url}`).to.equal('no-store');
        expect(res.json(), `${method} ${url}`).to.include({ code: 'ROUTE_NOT_FOUND', detail: `no route ${method} ${url}` });
      }
    }
    // The assets themselves are still served.
    const page = await h.call({ method: 'GET', url: '/ui' });
    expect(page.statusCode).to.equal(200);
  });

  it('counts METHOD_NOT_ALLOWED in openmcp_errors_total', async () => {
    await h.call({ method: 'PUT', url: '/v1/events' });
    const metrics = (await h.call({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).to.match(/openmcp_errors_total\{code="METHOD_NOT_ALLOWED"\} [1-9]/);
  });
});
