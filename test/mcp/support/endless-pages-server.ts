import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

/**
 * An MCP server over stdio (the SDK's Server) whose tools/list never ends: every page holds one
 * tool and a next cursor, a new one each time (`new`), or always the same (`same`).
 * Run: tsx endless-pages-server.ts new|same
 */
const mode = process.argv[2] === 'same' ? 'same' : 'new';
const server = new Server({ name: 'endless-pages', version: '1.0.0' }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async (req) => {
  const n = Number(req.params?.cursor ?? 0);
  return {
    tools: [{ name: `t${n}`, description: `tool ${n}`, inputSchema: { type: 'object' as const, properties: {} } }],
    nextCursor: mode === 'same' ? '1' : String(n + 1),
  };
});
void server.connect(new StdioServerTransport());
