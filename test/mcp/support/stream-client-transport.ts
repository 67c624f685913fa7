import { PassThrough } from 'node:stream';
import { ReadBuffer, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/**
 * The client side of a stdio connection without a child process: the SDK's own newline framing
 * (ReadBuffer, serializeMessage) over two in-process pipes, as StdioClientTransport uses over a
 * child's stdin/stdout. Hand `serverStdin`/`serverStdout` to runGatewayStdio; `close()` ends the
 * server's stdin, as a client exiting does.
 */
export class StreamClientTransport implements Transport {
  readonly serverStdin = new PassThrough();
  readonly serverStdout = new PassThrough();
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly buffer = new ReadBuffer();

  async start(): Promise<void> {
    this.serverStdout.on('data', (chunk: Buffer) => {
      this.buffer.append(chunk);
      for (let m = this.buffer.readMessage(); m; m = this.buffer.readMessage()) this.onmessage?.(m);
    });
  }

  async send(message: JSONRPCMessage): Promise<void> {
    this.serverStdin.write(serializeMessage(message));
  }

  async close(): Promise<void> {
    this.serverStdin.end();
    this.onclose?.();
  }
}
