import type { Readable, Writable } from 'node:stream';
import type { McpGateway } from './gateway';
import { createGatewayServer } from './gateway-server';
import { MAX_QUEUED_LOG_MESSAGES } from './log-relay';
import { StdioGatewayTransport } from './stdio-gateway-transport';
import type { CallContext } from './types';

/**
 * Serve the gateway over stdio (`openmcp mcp stdio`) for local MCP clients, as the identity in `ctx`.
 * `io.authorize` is checked before each tools/list and tools/call (GatewayServerOptions.authorize).
 * Resolves once connected; `closed` resolves when the client goes away.
 */
export async function runGatewayStdio(
  gateway: McpGateway,
  ctx: CallContext,
  io: { stdin?: Readable; stdout?: Writable; authorize?: () => Promise<void> } = {},
): Promise<{ close(): Promise<void>; closed: Promise<void> }> {
  const { server, dispose } = createGatewayServer(gateway, ctx, { authorize: io.authorize });
  const stdin = io.stdin ?? process.stdin;
  const stdout = io.stdout ?? process.stdout;
  // The stdio transport waits for 'drain' with one listener per message while stdout is
  // full; log messages stop at MAX_QUEUED_LOG_MESSAGES waiting, which is no leak to warn about.
  stdout.setMaxListeners(Math.max(stdout.getMaxListeners(), MAX_QUEUED_LOG_MESSAGES + 20));
  const transport = new StdioGatewayTransport(stdin, stdout);
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => {
      dispose();
      resolve();
    };
  });
  await server.connect(transport);
  // The stdio transport (as the SDK's) never notices its client going away (end of stdin): without this,
  // calls in flight ran on, unanswered, and the process outlived its client.
  const gone = () => void server.close().catch(() => {});
  stdin.once('end', gone);
  stdin.once('close', gone);
  return { close: () => server.close(), closed };
}
