/**
 * The bundled example MCP server over stdio: echo, add, reverse, now.
 * Run: `npx tsx examples/mcp-stdio/server.ts` (MCP_EXAMPLE_TEST_TOOLS=on adds fail, reject, sleep, hold, crash, count).
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { buildExampleServer } from './tools';

async function main(): Promise<void> {
  const server = buildExampleServer({ testTools: process.env.MCP_EXAMPLE_TEST_TOOLS === 'on' });
  await server.connect(new StdioServerTransport());
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
