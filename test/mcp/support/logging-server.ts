/**
 * A stdio MCP server that logs (notifications/message): `log` sends one message tied to its call
 * (extra.sendNotification) and, with `background`, one more on its own (sendLoggingMessage), as
 * a server logging outside any request does; `flood` sends `count` messages on its own, each
 * `{ label, n, pad }` with `pad` of `padChars` characters. Its name in messages is `LOGGER_NAME` when set.
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
s.registerTool(
  'flood',
  { description: 'Log many messages.', inputSchema: { label: z.string(), count: z.number().int(), padChars: z.number().int() } },
  async ({ label, count, padChars }) => {
    const pad = 'x'.repeat(padChars);
    // Each send waits for stdout to take the message (the SDK's stdio transport), so the flood goes as fast as the gateway reads.
    for (let n = 0; n < count; n++) await s.server.sendLoggingMessage({ level: 'info', data: { label, n, pad }, ...(logger ? { logger } : {}) });
    return { content: [{ type: 'text', text: `sent ${count}` }] };
  },
);
void s.connect(new StdioServerTransport());
