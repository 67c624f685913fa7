/**
 * A stdio MCP server slow to start, for as long as a test says: run with two file paths, it
 * writes the first (`started`: its process is running) and answers nothing, initialize included,
 * until the second (`gate`) exists; then it serves `ping` (answers `pong`). Messages sent
 * meanwhile wait in its stdin and are answered once it opens.
 * @example { command: process.execPath, args: ['--require', require.resolve('tsx/cjs'), GATED_START_SERVER, startedFile, gateFile] }
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';

export const GATED_START_SERVER = join(__dirname, 'gated-start-server.ts');

if (require.main === module) {
  const [started, gate] = process.argv.slice(2);
  writeFileSync(started, String(process.pid));
  const open = () => {
    const s = new McpServer({ name: 'gated', version: '1' });
    s.registerTool('ping', { description: 'Answer pong.' }, async () => ({ content: [{ type: 'text', text: 'pong' }] }));
    void s.connect(new StdioServerTransport());
  };
  const wait = () => (existsSync(gate) ? open() : setTimeout(wait, 20));
  wait();
}
