import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { LoggingMessageNotificationSchema, type LoggingMessageNotification } from '@modelcontextprotocol/sdk/types.js';

/** The stdio upstream (logging-server.ts) that logs what its tools are asked to. */
export const loggingServer = {
  transport: 'stdio' as const,
  command: process.execPath,
  args: ['--require', require.resolve('tsx/cjs'), join(__dirname, 'logging-server.ts')],
};

export type Log = LoggingMessageNotification['params'];

/** Every log message (notifications/message) `client` receives from now on. */
export function collect(client: Client): Log[] {
  const logs: Log[] = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void logs.push(n.params));
  return logs;
}
