import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ValidationError } from '../core/errors';
import { isolatedAbortFetch } from './isolated-abort-fetch';
import type { UpstreamSpec } from './types';

/**
 * The SDK client transport for an upstream. A stdio child's stderr is piped and only its last
 * line kept (for error messages), so a chatty server can neither fill a pipe nor the gateway's log.
 */
export function openUpstreamTransport(spec: UpstreamSpec, onStderrLine: (line: string) => void): Transport {
  switch (spec.transport) {
    case 'stdio': {
      if (!spec.command) throw new ValidationError('stdio upstream needs a command', { field: 'command' });
      const t = new StdioClientTransport({
        command: spec.command,
        args: spec.args ?? [],
        env: { ...getDefaultEnvironment(), ...(spec.env ?? {}) },
        cwd: spec.cwd,
        stderr: 'pipe',
      });
      t.stderr?.on('data', (chunk: Buffer) => {
        const lines = chunk.toString('utf8').trim().split('\n');
        const last = lines[lines.length - 1];
        if (last) onStderrLine(last);
      });
      return t;
    }
    case 'http':
      if (!spec.url) throw new ValidationError('http upstream needs a url', { field: 'url' });
      return new StreamableHTTPClientTransport(new URL(spec.url), { fetch: isolatedAbortFetch() });
    case 'sse':
      if (!spec.url) throw new ValidationError('sse upstream needs a url', { field: 'url' });
      return new SSEClientTransport(new URL(spec.url), { fetch: isolatedAbortFetch() });
  }
}
