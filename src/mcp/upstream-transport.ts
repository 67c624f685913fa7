import type { ChildProcess } from 'node:child_process';
import { StringDecoder } from 'node:string_decoder';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { FetchLike, Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ValidationError } from '../core/errors';
import type { ExitStatus } from './health-cause';
import { boundedFetch, type UpstreamMessageTooLargeError } from './bounded-fetch';
import { isolatedAbortFetch } from './isolated-abort-fetch';
import type { EgressRules } from './egress-rules';
import { publicOnlyFetch } from './public-only-fetch';
import { SseTransportWithCause } from './sse-transport-with-cause';
import { resolveEnv } from './upstream-env';
import { resolveHeaders } from './upstream-headers';
import { resolveUrl } from './upstream-url';
import { upstreamSecrets, withoutSecrets, type SecretValue } from './upstream-secrets';
import type { UpstreamSpec } from './types';

/**
 * What a stdio upstream's process tells besides the protocol: its stderr, line by line, how it
 * ended, and the transport's errors (a line of stdout that is no JSON-RPC message, a message past
 * the SDK's 10 MiB, after which the SDK closes the connection).
 */
export type StdioHooks = {
  stderrLines(lines: string[]): void;
  exit?(status: ExitStatus): void;
  error?(err: Error): void;
  /**
   * HTTP and SSE: an event of the upstream's event stream passed MAX_UPSTREAM_MESSAGE_BYTES and
   * the stream was cut (boundedFetch); `init`, the request it answered (a call's POST: that call
   * fails; else the connection is to be closed, as over stdio).
   */
  tooLarge?(err: UpstreamMessageTooLargeError, init?: RequestInit): void;
};

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

/** How many of a stdio upstream's last stderr lines are kept for its errors, and how much of each. */
export const STDERR_LINES = 4;
const STDERR_LINE_CHARS = 1000;

/**
 * A stderr line's first STDERR_LINE_CHARS characters, less a URL the cut falls in: its
 * credentials are redacted later (redactUrlsIn), which takes a URL whole; cut inside a password,
 * what is left of it is no URL and would be shown as it is. So for the upstream's secrets
 * (withoutSecrets, later too): those in it hidden before the cut, and what is left of one the cut
 * falls in (not all of it written yet) dropped. Hiding one earlier in the line brings what is kept
 * after it within what an error shows of the line.
 */
function cutLine(line: string, secrets: readonly SecretValue[]): string {
  let head = withoutSecrets(line, secrets).slice(0, STDERR_LINE_CHARS);
  for (const { value } of secrets) {
    // The longest end of head that begins the value.
    for (let i = Math.max(0, head.length - value.length + 1); i < head.length; i++) {
      if (value.startsWith(head.slice(i))) {
        head = head.slice(0, i);
        break;
      }
    }
  }
  // The last word (as redactUrlsIn delimits a URL), and a URL's start in it.
  let start = head.length;
  while (start > 0 && !/[\s'"<>]/.test(head[start - 1])) start--;
  const url = head.slice(start).search(/[a-z][a-z0-9+.-]*:\/\//i);
  return url < 0 ? head : head.slice(0, start + url);
}

/**
 * The SDK client transport for an upstream. A stdio child's stderr is piped and only its last
 * few lines kept (for error messages), so a chatty server can neither fill a pipe nor the gateway's log;
 * its exit is reported to `hooks.exit`.
 * `wrapFetch`, for streamable HTTP: what the transport's fetch goes through (CallStreams.fetch).
 */
export function openUpstreamTransport(spec: UpstreamSpec, hooks: StdioHooks, wrapFetch: (f: FetchLike) => FetchLike = (f) => f, egress?: EgressRules): Transport {
  switch (spec.transport) {
    case 'stdio': {
      if (!spec.command) throw new ValidationError('stdio upstream needs a command', { field: 'command' });
      // Read from this process's environment, as resolveEnv reads them below.
      const secrets = upstreamSecrets(spec);
      const t = new StdioTransportWithExit({
        command: spec.command,
        args: spec.args ?? [],
        // Templates resolved here, at each start, from this process's environment (as headers
        // are): a replica or a restart reads its own; a missing variable fails the connect, named.
        env: { ...getDefaultEnvironment(), ...resolveEnv(spec.env ?? {}) },
        cwd: spec.cwd,
        stderr: 'pipe',
      }, hooks);
      // The last STDERR_LINES lines, not the last alone: a launcher's says where its log is (npx:
      // "A complete log of this run can be found in…"), the cause a line or two above. A line
      // still being written (a chunk ends inside it) counts as the last; each kept to its start.
      const done: string[] = [];
      let open = '';
      // Whether the line being written was cut: the rest of it is dropped, up to its end.
      let cut = false;
      // A character whose bytes two chunks share is decoded whole.
      const decoder = new StringDecoder('utf8');
      t.stderr?.on('data', (chunk: Buffer) => {
        const parts = decoder.write(chunk).split('\n');
        parts.forEach((part, i) => {
          if (!cut) {
            open += part;
            if (open.length > STDERR_LINE_CHARS) {
              open = cutLine(open, secrets);
              cut = true;
            }
          }
          if (i === parts.length - 1) return;
          const line = open.trim();
          if (line) done.push(line);
          open = '';
          cut = false;
        });
        done.splice(0, Math.max(0, done.length - STDERR_LINES));
        const lines = open.trim() ? [...done.slice(1 - STDERR_LINES), open.trim()] : [...done];
        if (lines.length) hooks.stderrLines(lines);
      });
      return t;
    }
    // `requestInit.headers` is what the SDK adds to every request of the transport: each POST,
    // the GET event stream (streamable HTTP) and the EventSource (SSE), and, as each (re)connect
    // builds a new transport, a session's re-initialisation. The SDK puts its own headers under
    // them, hence the refused names (RESERVED_HEADERS). Resolved here, at connect, from this
    // process's environment: a replica or a restart reads its own, and a rotated secret is used
    // from the next connection on. So is a URL's `${env:NAME}` (resolveUrl): the resolved URL
    // lives in the transport only, every message naming the URL as its template.
    case 'http':
      if (!spec.url) throw new ValidationError('http upstream needs a url', { field: 'url' });
      return new StreamableHTTPClientTransport(new URL(resolveUrl(spec.url)), { fetch: wrapFetch(fetchOf(spec, hooks, egress)), ...requestInitOf(spec) });
    case 'sse':
      if (!spec.url) throw new ValidationError('sse upstream needs a url', { field: 'url' });
      // Its event stream's failed fetch is passed on as it is (a refusal of a tenant's server, a
      // refused connection), as streamable HTTP does: the health cause keeps its code (SseTransportWithCause).
      return new SseTransportWithCause(new URL(resolveUrl(spec.url)), { fetch: fetchOf(spec, hooks, egress), ...requestInitOf(spec) });
  }
}

/**
 * A server a tenant registered (egress "public") is refused, at every request, where its host
 * resolves to an internal address, and each of its connections goes to an address checked for it
 * (publicOnlyFetch), and so is a host the operator's `egress` rules do not allow
 * (MCP_EGRESS_ALLOWED_HOSTS, MCP_EGRESS_DENIED_NETWORKS); any other is reached with Node's fetch,
 * as it always was. Either way at most MAX_UPSTREAM_MESSAGE_BYTES of one message is read (boundedFetch).
 */
function fetchOf(spec: UpstreamSpec, hooks: Pick<StdioHooks, 'tooLarge'>, egress?: EgressRules): FetchLike {
  return boundedFetch(isolatedAbortFetch(spec.egress === 'public' ? publicOnlyFetch({ rules: egress }) : fetch), { onTooLarge: (err, init) => hooks.tooLarge?.(err, init) });
}

function requestInitOf(spec: UpstreamSpec): { requestInit?: RequestInit } {
  return spec.headers ? { requestInit: { headers: resolveHeaders(spec.headers) } } : {};
}
