/**
 * A stdio MCP server slow to end, as many real ones are: it stays up after its stdin closes and
 * ignores SIGTERM (the MCP SDK's client then waits 2 s, sends SIGTERM, waits 2 s more, SIGKILL).
 * `linger` writes the process's pid to `<dir>/pid`, then runs until cancelled, writing
 * `<dir>/cancelled` when the cancellation reaches it.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

process.on('SIGTERM', () => {});
const s = new McpServer({ name: 'lingering', version: '1' });
s.registerTool('linger', { description: 'Run until cancelled.', inputSchema: { dir: z.string() } }, async ({ dir }, { signal }) => {
  writeFileSync(join(dir, 'pid'), String(process.pid));
  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  writeFileSync(join(dir, 'cancelled'), '');
  return { content: [] };
});
// Kept alive after stdin closes, as a server with work of its own (a timer, a pool) is.
setInterval(() => {}, 1_000);
void s.connect(new StdioServerTransport());
