import type { ChildProcess } from 'node:child_process';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ValidationError } from '../core/errors';
import type { ExitStatus } from './health-cause';
import { isolatedAbortFetch } from './isolated-abort-fetch';
import { publicOnlyFetch } from './public-only-fetch';
import { SseTransportWithCause } from './sse-transport-with-cause';
import { resolveEnv } from './upstream-env';
import { resolveHeaders } from './upstream-headers';
import type { UpstreamSpec } from './types';

/**
 * What a stdio upstream's process tells besides the protocol: its stderr, line by line, how it
 * ended, and the transport's errors (a line of stdout that is no JSON-RPC message, a message past
 * the SDK's 10 MiB, after which the SDK closes the connection).
 */
export type StdioHooks = { stderrLine(line: string): void; exit?(status: ExitStatus): void; error?(err: Error): void };

/**
 * The SDK's stdio transport, telling how its process ended: the SDK drops the exit code and
 * signal, which are what the gateway may say of a crash without quoting the server. The child is
 * the SDK's private `_process`; should a later SDK rename it, exits are reported without a code.
 * Also its errors until it closes: the one that made the SDK close it (a message past its size
 * limit) is the last; what is still read after it (the rest of that message) is no news.
 */
class StdioTransportWithExit extends StdioClientTransport {
  private closing = false;

  constructor(
    params: ConstructorParameters<typeof StdioClientTransport>[0],
    private readonly hooks: Pick<StdioHooks, 'exit' | 'error'>,
  ) {
    super(params);
    // Kept by the SDK's client when it connects (it calls a handler set before it, then its own).
    // A write's EPIPE is the process having gone (its exit says how), not a cause of its own.
    this.onerror = (err) => {
      if (!this.closing && (err as NodeJS.ErrnoException).code !== 'EPIPE') hooks.error?.(err);
    };
  }

  override async close(): Promise<void> {
    this.closing = true;
    await super.close();
  }

  override async start(): Promise<void> {
    await super.start();
    // Resolved at 'spawn'; Node emits 'exit' later, and always before 'close' (which the SDK turns into the connection's end).
    const child = (this as unknown as { _process?: ChildProcess })._process;
    child?.once('exit', (code, signal) => this.hooks.exit?.({ code, signal }));
  }
}

/**
 * The SDK client transport for an upstream. A stdio child's stderr is piped and only its last
 * line kept (for error messages), so a chatty server can neither fill a pipe nor the gateway's log;
 * its exit is reported to `hooks.exit`.
 * `wrapFetch`, for streamable HTTP: what the transport's fetch goes through (CallStreams.fetch).
 */
export function openUpstreamTransport(spec: UpstreamSpec, hooks: StdioHooks, wrapFetch: (f: FetchLike) => FetchLike = (f) => f): Transport {
  switch (spec.transport) {
    case 'stdio': {
      if (!spec.command) throw new ValidationError('stdio upstream needs a command', { field: 'command' });
      const t = new StdioTransportWithExit({
        command: spec.command,
        args: spec.args ?? [],
        // Templates resolved here, at each start, from this process's environment (as headers
        // are): a replica or a restart reads its own; a missing variable fails the connect, named.
        env: { ...getDefaultEnvironment(), ...resolveEnv(spec.env ?? {}) },
        cwd: spec.cwd,
        stderr: 'pipe',
      }, hooks);
      t.stderr?.on('data', (chunk: Buffer) => {
        const lines = chunk.toString('utf8').trim().split('\n');
        const last = lines[lines.length - 1];
        if (last) hooks.stderrLine(last);
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
      return new StreamableHTTPClientTransport(new URL(spec.url), { fetch: wrapFetch(fetchOf(spec)), ...requestInitOf(spec) });
    case 'sse':
      if (!spec.url) throw new ValidationError('sse upstream needs a url', { field: 'url' });
      // Its event stream's failed fetch is passed on as it is (a refusal of a tenant's server, a
      // refused connection), as streamable HTTP does: the health cause keeps its code (SseTransportWithCause).
      return new SseTransportWithCause(new URL(spec.url), { fetch: fetchOf(spec), ...requestInitOf(spec) });
  }
}

/**
 * A server a tenant registered (egress "public") is refused, at every request, where its host
 * resolves to an internal address, and each of its connections goes to an address checked for it
 * (publicOnlyFetch); any other is reached with Node's fetch, as it always was.
 */
function fetchOf(spec: UpstreamSpec): FetchLike {
  return isolatedAbortFetch(spec.egress === 'public' ? publicOnlyFetch() : fetch);
}

function requestInitOf(spec: UpstreamSpec): { requestInit?: RequestInit } {
  return spec.headers ? { requestInit: { headers: resolveHeaders(spec.headers) } } : {};
}
