import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ValidationError } from '../core/errors';
import { isolatedAbortFetch } from './isolated-abort-fetch';
import { resolveEnv } from './upstream-env';
import { resolveHeaders } from './upstream-headers';
import type { UpstreamSpec } from './types';

/**
 * The SDK client transport for an upstream. A stdio child's stderr is piped and only its last
 * line kept (for error messages), so a chatty server can neither fill a pipe nor the gateway's log.
 * `wrapFetch`, for streamable HTTP: what the transport's fetch goes through (CallStreams.fetch).
 */
export function openUpstreamTransport(spec: UpstreamSpec, onStderrLine: (line: string) => void, wrapFetch: (f: FetchLike) => FetchLike = (f) => f): Transport {
  switch (spec.transport) {
    case 'stdio': {
      if (!spec.command) throw new ValidationError('stdio upstream needs a command', { field: 'command' });
      const t = new StdioClientTransport({
        command: spec.command,
        args: spec.args ?? [],
        // Templates resolved here, at each start, from this process's environment (as headers
        // are): a replica or a restart reads its own; a missing variable fails the connect, named.
        env: { ...getDefaultEnvironment(), ...resolveEnv(spec.env ?? {}) },
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
    // `requestInit.headers` is what the SDK adds to every request of the transport: each POST,
    // the GET event stream (streamable HTTP) and the EventSource (SSE), and, as each (re)connect
    // builds a new transport, a session's re-initialisation. The SDK puts its own headers under
    // them, hence the refused names (RESERVED_HEADERS). Resolved here, at connect, from this
    // process's environment: a replica or a restart reads its own, and a rotated secret is used
    // from the next connection on.
    case 'http':
      if (!spec.url) throw new ValidationError('http upstream needs a url', { field: 'url' });
      return new StreamableHTTPClientTransport(new URL(spec.url), { fetch: wrapFetch(isolatedAbortFetch()), ...requestInitOf(spec) });
    case 'sse':
      if (!spec.url) throw new ValidationError('sse upstream needs a url', { field: 'url' });
      return new SSEClientTransport(new URL(spec.url), { fetch: isolatedAbortFetch(), ...requestInitOf(spec) });
  }
}

function requestInitOf(spec: UpstreamSpec): { requestInit?: RequestInit } {
  return spec.headers ? { requestInit: { headers: resolveHeaders(spec.headers) } } : {};
}
