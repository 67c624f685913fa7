/**
 * `openmcp mcp servers add --connect-timeout-ms T`: POST /v1/mcp-servers answers once the server
 * has connected (up to T for its initialize, and T for its first tools/list page). The SDK gives a
 * request 30 s by default, so a server slow to start (the option's very use: `npx -y` downloading)
 * was reported failed (`no answer within 30000 ms`, exit 1) while the gateway registered it.
 */
import { expect } from 'chai';
import { OpenMcpClient } from '../../src/sdk/client';
import { runMcpServersAdd } from '../../src/cli/mcp-servers';

describe('openmcp mcp servers add --connect-timeout-ms: the request outlasts the connect it waits for', () => {
  const timeouts: number[] = [];
  const original = AbortSignal.timeout.bind(AbortSignal);
  beforeEach(() => {
    timeouts.length = 0;
    // Records the bound each request is given (the SDK's per-attempt timeout), without waiting for it.
    AbortSignal.timeout = (ms: number) => {
      timeouts.push(ms);
      return original(ms);
    };
  });
  afterEach(() => {
    AbortSignal.timeout = original;
  });

  const client = () =>
    new OpenMcpClient({
      baseUrl: 'http://gateway.test',
      apiKey: 'k',
      fetch: (async () =>
        new Response(JSON.stringify({ id: 's1', name: 'slow', transport: 'http', health: 'up', toolCount: 1, limits: { connectTimeoutMs: 120_000 } }), {
          status: 201,
          headers: { 'content-type': 'application/json' },
        })) as typeof fetch,
    });

  it('with --connect-timeout-ms 120000 the POST may take longer than the server may take to connect (initialize and its first tools/list)', async () => {
    const lines: string[] = [];
    const code = await runMcpServersAdd(client(), 'slow', { url: 'https://mcp.example.com/mcp', connectTimeoutMs: 120_000 }, (l) => lines.push(l));
    expect(code, lines.join('\n')).to.equal(0);
    expect(timeouts).to.have.length(1);
    expect(timeouts[0]).to.be.greaterThan(2 * 120_000);
  });

  it('without it, the client keeps its own timeout', async () => {
    expect(await runMcpServersAdd(client(), 'slow', { url: 'https://mcp.example.com/mcp' }, () => {})).to.equal(0);
    expect(timeouts).to.deep.equal([30_000]);
  });
});
