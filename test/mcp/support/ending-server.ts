/**
 * A stdio MCP server whose connection ends in the middle of a call, each way it can: `exit` ends
 * the process with the code asked for, `big` answers with more than the SDK's stdio transport
 * reads in one message (10 MiB), `hang` never answers (for a server removed meanwhile).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const s = new McpServer({ name: 'ending', version: '1' });
s.registerTool('exit', { description: 'End the process with this exit code.', inputSchema: { code: z.number().int() } }, async ({ code }) => process.exit(code));
s.registerTool('big', { description: 'Answer with this many characters.', inputSchema: { chars: z.number().int() } }, async ({ chars }) => ({ content: [{ type: 'text', text: 'x'.repeat(chars) }] }));
s.registerTool('hang', { description: 'Never answer.', inputSchema: {} }, () => new Promise(() => {}));
void s.connect(new StdioServerTransport());
