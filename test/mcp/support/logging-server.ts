/**
 * A stdio MCP server that logs (notifications/message): `log` sends one message tied to its call
 * (extra.sendNotification) and, with `background`, one more on its own (sendLoggingMessage), as
 * a server logging outside any request does. Its name in messages is `LOGGER_NAME` when set.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { LoggingLevelSchema } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

const s = new McpServer({ name: 'logs', version: '1' }, { capabilities: { logging: {} } });
const logger = process.env.LOGGER_NAME || undefined;
s.registerTool(
  'log',
  { description: 'Log a message.', inputSchema: { level: LoggingLevelSchema, data: z.unknown(), background: z.boolean().optional() } },
  async ({ level, data, background }, extra) => {
    await extra.sendNotification({ method: 'notifications/message', params: { level, data, ...(logger ? { logger } : {}) } });
    if (background) await s.server.sendLoggingMessage({ level, data: { background: data }, ...(logger ? { logger } : {}) });
    return { content: [{ type: 'text', text: 'logged' }] };
  },
);
void s.connect(new StdioServerTransport());
