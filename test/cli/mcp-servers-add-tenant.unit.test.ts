/**
 * `openmcp mcp servers add` registers the server in the tenant of the key that sends it: only that
 * tenant's keys see its tools. With the bootstrap admin key (the README's way to try the HTTP
 * example) that is tenant `default`, and an MCP client given a key of another tenant found no
 * `demo__…` tools, with nothing having said where the server went.
 */
import { expect } from 'chai';
import { OpenMcpClient } from '../../src/sdk/client';
import { runMcpServersAdd } from '../../src/cli/mcp-servers';

describe('openmcp mcp servers add: says whose tools the server gives', () => {
  const client = (tenant: string) =>
    new OpenMcpClient({
      baseUrl: 'http://gateway.test',
      apiKey: 'k',
      fetch: (async () =>
        new Response(JSON.stringify({ id: 's1', name: 'demo', transport: 'http', tenant, url: 'http://127.0.0.1:3001/mcp', health: 'up', toolCount: 4, registeredAt: '2026-12-07T00:00:00.000Z' }), {
          status: 201,
          headers: { 'content-type': 'application/json' },
        })) as typeof fetch,
    });

  it("names the key's tenant, whose keys call its tools as <name>__<tool>", async () => {
    const lines: string[] = [];
    expect(await runMcpServersAdd(client('default'), 'demo', { url: 'http://127.0.0.1:3001/mcp' }, (l) => lines.push(l))).to.equal(0);
    expect(lines.join('\n')).to.contain('registered demo (http)  id s1  up  4 tool(s)').and.contain("tenant default: its keys' MCP clients call its tools as demo__<tool>");
  });
});
