import { expect } from 'chai';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { defaultUpstreamOptions, Upstream } from '../../src/mcp/upstream';

describe('Upstream: a lost connection quoting the transport\'s last error, for a URL template', () => {
  const VAR = `OMC_TEST_LOST_URL_KEY_${process.pid}`;
  const SECRET = 'sk0123456789abcdefghijklmnopqrstuvwxyz';
  afterEach(() => delete process.env[VAR]);

  it('names the reference, never a part of the value, where the quote is cut (300 characters)', () => {
    process.env[VAR] = SECRET;
    const u = new Upstream(
      { id: 'h-1', tenant: 'acme', name: 'hosted', transport: 'http', url: `https://mcp.example.com/mcp?api_key=\${env:${VAR}}` },
      { ...defaultUpstreamOptions, healthIntervalMs: 0 },
      { onHealth: () => {}, onTools: () => {} },
    );
    // The SDK's error for a failed POST quotes the upstream's body: here the key, across the cut.
    const internals = u as unknown as { lastTransportError?: Error; classify(err: unknown, lost: boolean): Error };
    internals.lastTransportError = new Error(`Error POSTing to endpoint (HTTP 401): ${'x'.repeat(250)} key ${SECRET} refused`);
    const e = internals.classify(new McpError(ErrorCode.ConnectionClosed, 'Connection closed'), true);
    expect(e.message).to.include("the transport's error");
    expect(e.message).to.not.include(SECRET.slice(0, 6));
    u.kill();
  });
});
