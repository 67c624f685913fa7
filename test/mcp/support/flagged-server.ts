/**
 * A stdio MCP server (an `echo` tool) that exits with code 3 once the file its HEALTH_TEST_FLAG
 * names exists (at start, or within 20 ms after). Started by one replica with that variable (an
 * env value of its own configuration, which the log does not hold) and by another without it,
 * it is an upstream the first cannot reach and the second can: replicas that truly disagree.
 */
import { existsSync } from 'node:fs';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const flag = process.env.HEALTH_TEST_FLAG;
if (flag && existsSync(flag)) process.exit(3);
if (flag) setInterval(() => existsSync(flag) && process.exit(3), 20);

const s = new McpServer({ name: 'flagged', version: '1' });
s.registerTool('echo', { description: 'Echo the text back.', inputSchema: { text: z.string() } }, async ({ text }) => ({ content: [{ type: 'text', text }] }));
void s.connect(new StdioServerTransport());
