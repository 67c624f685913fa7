/** A stdio MCP server that, like most, logs what it handled to stderr (stdout is the protocol); `export` crashes it. */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const s = new McpServer({ name: 'crm', version: '1' });
s.registerTool('lookup', { description: 'Look up a customer.', inputSchema: { customer: z.string() } }, async ({ customer }) => {
  process.stderr.write(`handled lookup customer=${customer}\n`);
  return { content: [{ type: 'text', text: 'ok' }] };
});
s.registerTool('export', { description: 'Export (crashes: a bug).', inputSchema: {} }, async () => process.exit(3));
void s.connect(new StdioServerTransport());
