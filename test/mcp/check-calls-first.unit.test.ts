import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, CallToolResultSchema, McpError } from '@modelcontextprotocol/sdk/types.js';
import { checkCallsFirst } from '../../src/mcp/check-calls-first';

/**
 * checkCallsFirst reaches into the MCP SDK's Server (its private `_requestHandlers`): no public
 * hook runs before the Server's own check of a tools/call, which it wraps around the handler it is
 * given, with result validation the gateway keeps. These tests are the alarm for an SDK upgrade
 * that changes that: the check refused with a message saying so, or a malformed call no longer
 * answered in the gateway's words.
 */
describe('checkCallsFirst: a malformed tools/call answered in the gateway\'s words, ahead of the MCP SDK\'s own check', () => {
  async function connected(server: Server): Promise<Client> {
    const [a, b] = InMemoryTransport.createLinkedPair();
    const client = new Client({ name: 't', version: '1' });
    await Promise.all([server.connect(a), client.connect(b)]);
    return client;
  }

  it("the SDK's Server as this release knows it: the check runs first, and a well-formed call reaches the handler with the SDK's result check", async () => {
    const server = new Server({ name: 's', version: '1' }, { capabilities: { tools: {} } });
    server.setRequestHandler(CallToolRequestSchema, async (req) => ({ content: [{ type: 'text', text: req.params.name }] }));
    checkCallsFirst(server);
    const client = await connected(server);
    const err = await client.request({ method: 'tools/call', params: { name: 'x', arguments: [1] } as never }, CallToolResultSchema).catch((e: McpError) => e);
    expect(err).to.be.instanceOf(McpError);
    expect((err as McpError).data, 'the SDK checked the call before the gateway could: see checkCallsFirst').to.deep.equal({ code: 'VALIDATION_FAILED' });
    expect(await client.callTool({ name: 'ok', arguments: {} })).to.deep.equal({ content: [{ type: 'text', text: 'ok' }] });
    await client.close();
  });

  it('a Server without the handler map it reaches into: refused at once, saying the SDK changed', () => {
    const changed = Object.assign(Object.create(Server.prototype) as Server, { _handlers: new Map() });
    expect(() => checkCallsFirst(changed)).to.throw(/MCP SDK.*_requestHandlers/);
    const notInstalled = Object.assign(Object.create(Server.prototype) as Server, { _requestHandlers: new Map() });
    expect(() => checkCallsFirst(notInstalled)).to.throw(/tools\/call handler/);
  });
});
