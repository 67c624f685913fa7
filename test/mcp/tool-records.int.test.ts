import { expect } from 'chai';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { MCP_TOOL_LIMITS } from '../../events/mcp.events';
import { McpGateway } from '../../src/mcp/gateway';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'alice' };

/**
 * An upstream whose tools/list the catalog cannot take as it is: a name listed twice, an
 * over-long description, a tool with an empty name. Written with the SDK's low-level Server
 * (McpServer refuses such lists), served stateless over streamable HTTP.
 */
async function startSloppyUpstream(tools: Tool[]): Promise<{ url: string; close(): Promise<void> }> {
  const http: HttpServer = createServer(async (req, res) => {
    const server = new Server({ name: 'sloppy', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
    server.setRequestHandler(CallToolRequestSchema, async (r) => ({ content: [{ type: 'text', text: `called ${r.params.name}` }] }));
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => void transport.close());
    await server.connect(transport);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    await transport.handleRequest(req, res, chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

describe('MCP gateway: an upstream listing tools the catalog cannot take as they are', function () {
  this.timeout(30_000);

  it('keeps its other tools: the first of a name listed twice, a description cut to its limit; the log holds one tool per name', async () => {
    const schema = { type: 'object' as const };
    const upstream = await startSloppyUpstream([
      { name: 'search', description: 'the first search', inputSchema: schema },
      { name: 'search', description: 'the second search', inputSchema: schema },
      { name: 'manual', description: 'm'.repeat(MCP_TOOL_LIMITS.description + 100), inputSchema: schema },
      { name: '', description: 'no name', inputSchema: schema },
      { name: 'fine', inputSchema: schema },
    ]);
    const db = await openTempSqliteStore();
    const warnings: unknown[] = [];
    const logger = { warn: (o: unknown, msg?: string) => warnings.push([o, msg]) };
    const gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 }, logger });
    try {
      await gateway.start();
      const s = await gateway.registerServer({ tenant: 'acme', actor, name: 'sloppy', transport: 'http', url: upstream.url });
      expect(s.health).to.equal('up');
      const tools = gateway.listTools('acme').filter((t) => t.server === 'sloppy');
      expect(tools.map((t) => t.name).sort()).to.deep.equal(['sloppy__fine', 'sloppy__manual', 'sloppy__search']);
      expect(tools.find((t) => t.name === 'sloppy__search')!.description).to.equal('the first search');
      expect(tools.find((t) => t.name === 'sloppy__manual')!.description).to.have.length(MCP_TOOL_LIMITS.description);
      const result = await gateway.callTool({ tenant: 'acme', actor }, 'sloppy__search', {});
      expect(result.content).to.deep.equal([{ type: 'text', text: 'called search' }]);

      const discovered = (await db.store.readStream(`mcpserver-${s.id}`)).find((e) => e.type === 'McpServerToolsDiscovered')!;
      expect((discovered.data.tools as { name: string }[]).map((t) => t.name)).to.deep.equal(['search', 'manual', 'fine']);
      expect(JSON.stringify(warnings)).to.include('listed twice').and.to.include('left out of the catalog');
    } finally {
      await gateway.close();
      await db.cleanup();
      await upstream.close();
    }
  });
});
