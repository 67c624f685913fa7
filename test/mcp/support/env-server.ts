/**
 * A stdio MCP server that tells whether a variable of its own environment is set: `env_digest`
 * answers the SHA-256 of the value (never the value), so a test can check that the gateway started
 * it with the right secret while the secret stays out of every recorded result.
 */
import { createHash } from 'node:crypto';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const s = new McpServer({ name: 'env-probe', version: '1' });
s.registerTool('env_digest', { description: 'SHA-256 of an environment variable of this process, or "unset".', inputSchema: { name: z.string() } }, async ({ name }) => {
  const v = process.env[name];
  return { content: [{ type: 'text', text: v === undefined ? 'unset' : createHash('sha256').update(v).digest('hex') }] };
});
void s.connect(new StdioServerTransport());
