import { expect } from 'chai';
import { LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';
import { createAuthenticator, mcpAuthenticate } from '../../src/auth/authenticator';
import { mcpGatewayPlugin } from '../../src/mcp/gateway-plugin';
import { makeGatewayHarness } from './support/gateway-harness';
import type { Harness } from './support/harness';

/**
 * /mcp reads its JSON bodies with plain JSON.parse (tool arguments may hold `__proto__` keys), a
 * parser of its own encapsulated context: the REST routes beside it, registered on the root, keep
 * fastify's, which refuses prototype-poisoning bodies. Were /mcp's parser registered on the root
 * (the plugin wrapped to skip encapsulation), /v1 would take `{"__proto__": …}` bodies too.
 */
describe('/mcp JSON parser stays inside /mcp: /v1 still refuses prototype-poisoning bodies; content types and limits as before', function () {
  this.timeout(60_000);
  let h: Harness;
  let close: () => Promise<void>;
  let admin: string;
  const initialize = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'ct', version: '1' } } });

  before(async () => {
    const harness = await makeGatewayHarness({ bodyLimit: 4096 });
    ({ h, close } = harness);
    // As src/main.ts: the API's routes first, then /mcp registered on the same root.
    await h.app.register(mcpGatewayPlugin, { gateway: harness.gw, authenticate: mcpAuthenticate(createAuthenticator({ keys: h.keys })) });
    // A route of the root context added after /mcp (main.ts registers the UI's after it): the
    // root's parser, which /mcp's must not have replaced.
    h.app.post('/after-mcp', async (request) => ({ keys: Object.keys(request.body as object) }));
    admin = (await h.key('admin', 'acme', true)).auth;
  });
  after(async () => close?.());

  const mcp = (body: string, contentType = 'application/json') =>
    h.call({ method: 'POST', url: '/mcp', auth: admin, headers: { 'content-type': contentType, accept: 'application/json, text/event-stream', 'mcp-protocol-version': LATEST_PROTOCOL_VERSION }, payload: body });

  it('POST /v1/mcp-servers with a __proto__ or constructor.prototype key: 400 MALFORMED_JSON, nothing registered', async () => {
    for (const body of [
      '{"__proto__":{"admin":true},"name":"poison","transport":"http","url":"http://example.invalid/mcp"}',
      '{"constructor":{"prototype":{"admin":true}},"name":"poison","transport":"http","url":"http://example.invalid/mcp"}',
    ]) {
      const res = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: admin, headers: { 'content-type': 'application/json' }, payload: body });
      expect(res.statusCode, res.body).to.equal(400);
      expect(res.json().code).to.equal('MALFORMED_JSON');
    }
    // Valid JSON, refused for the key it names (fastify said "Body is not valid JSON", which it is): the answer says which.
    const refused = async (payload: string) => (await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: admin, headers: { 'content-type': 'application/json' }, payload })).json();
    expect(await refused('{"name":"poison","env":{"a":[{"__proto__":{"admin":true}}]}}')).to.include({
      code: 'MALFORMED_JSON',
      field: 'body.env.a.0.__proto__',
      detail: 'body.env.a.0.__proto__: a key named "__proto__" is refused (prototype poisoning: code copying the object would take it for its prototype); rename it',
    });
    expect(await refused('{"constructor":{"prototype":{"admin":true}},"name":"poison"}')).to.include({
      code: 'MALFORMED_JSON',
      field: 'body.constructor.prototype',
      detail: 'body.constructor.prototype: a key named "prototype" inside one named "constructor" is refused (prototype poisoning: code copying the object would take it for its prototype); rename it',
    });
    // A "constructor" key not holding "prototype" is taken, as before.
    const ok = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: admin, headers: { 'content-type': 'application/json' }, payload: '{"constructor":{"x":1},"name":"poison"}' });
    expect(ok.json().code).to.equal('VALIDATION_FAILED');
    // Every MALFORMED_JSON names the body (docs/errors.md: field names the offending input), as PAYLOAD_TOO_LARGE does.
    for (const payload of ['{"name":', '{"name":"a","name":"b"}']) {
      expect(await refused(payload), payload).to.include({ code: 'MALFORMED_JSON', field: 'body' });
    }
    const empty = await h.call({ method: 'POST', url: '/v1/mcp-servers', auth: admin, headers: { 'content-type': 'application/json' }, payload: '' });
    expect(empty.json()).to.include({ code: 'MALFORMED_JSON', field: 'body' });
    const listed = (await h.call({ method: 'GET', url: '/v1/mcp-servers', auth: admin })).json().items as { name: string }[];
    expect(listed.map((s) => s.name)).to.not.include('poison');
  });

  // The parser is fastify's (secure-json-parse) with the refusal named after it: what it refused
  // before is refused still, wherever the key is and however it is written; the answer stays short.
  it('/v1 refuses __proto__ and constructor.prototype at any depth, in arrays, unicode-escaped, with any content type it takes; the answer quotes at most 200 characters of a key', async () => {
    const post = (payload: string, contentType = 'application/json') =>
      h.call({ method: 'POST', url: '/after-mcp', headers: { 'content-type': contentType }, payload });
    for (const [payload, field] of [
      ['{"\\u005f_proto__":{"admin":true}}', 'body.__proto__'],
      ['{"a":[1,{"b":[[{"\\u005F\\u005Fproto\\u005f\\u005f":1}]]}]}', 'body.a.1.b.0.0.__proto__'],
      ['[{"x":{"\\u0063onstructor":{"prot\\u006ftype":{}}}}]', 'body.0.x.constructor.prototype'],
      ['\ufeff{"__proto__":null}', 'body.__proto__'],
    ]) {
      for (const ct of ['application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON']) {
        const res = await post(payload, ct);
        expect(res.statusCode, `${payload} ${ct}: ${res.body}`).to.equal(400);
        expect(res.json(), payload).to.include({ code: 'MALFORMED_JSON', field });
      }
    }
    // Not refused: the words alone, a "constructor" without "prototype", a "prototype" elsewhere, a string value.
    const taken = await post('{"constructor":{"x":1},"prototype":{},"k":"__proto__","__proto_":1,"c":{"constructor":"prototype"}}');
    expect(taken.json(), taken.body).to.deep.equal({ keys: ['constructor', 'prototype', 'k', '__proto_', 'c'] });
    // A key of the operator's chosen length is not echoed whole (nor logged so).
    const long = 'k'.repeat(1200);
    const res = (await post(`{"${long}":{"${long}":{"__proto__":1}}}`)).json();
    expect(res).to.include({ code: 'MALFORMED_JSON' });
    expect(res.detail.length, res.detail).to.be.below(700);
    expect(res.field.length, res.field).to.be.below(500);
    expect(res.field).to.match(/^body\.k{200}…\.k{200}…\.__proto__$/);
    // Over bodyLimit: 413 before any parsing, as before.
    const big = await post(JSON.stringify({ __proto__x: 'x'.repeat(5000) }));
    expect(big.statusCode, big.body).to.equal(413);
  });

  it('a root route registered after /mcp refuses them too (the parser did not leak to the root context)', async () => {
    for (const body of ['{"__proto__":{"admin":true}}', '{"constructor":{"prototype":{"admin":true}}}']) {
      const res = await h.call({ method: 'POST', url: '/after-mcp', headers: { 'content-type': 'application/json' }, payload: body });
      expect(res.statusCode, res.body).to.equal(400);
      expect(res.json().code).to.equal('MALFORMED_JSON');
    }
    const ok = await h.call({ method: 'POST', url: '/after-mcp', headers: { 'content-type': 'application/json' }, payload: '{"a":1}' });
    expect(ok.json()).to.deep.equal({ keys: ['a'] });
  });

  it('/mcp takes application/json with a charset and in upper case, as fastify\'s parser did', async () => {
    for (const ct of ['application/json; charset=utf-8', 'Application/JSON', 'APPLICATION/JSON; CHARSET=UTF-8']) {
      const res = await mcp(initialize, ct);
      expect(res.statusCode, `${ct}: ${res.body}`).to.equal(200);
      expect(res.headers['mcp-session-id'], ct).to.be.a('string');
    }
  });

  it('/mcp over bodyLimit: 413 as before (the body is not parsed)', async () => {
    const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { pad: 'x'.repeat(5000) } });
    const res = await mcp(big);
    expect(res.statusCode, res.body).to.equal(413);
    expect(res.json().code).to.equal('PAYLOAD_TOO_LARGE');
  });
});
