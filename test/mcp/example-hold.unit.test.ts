import { expect } from 'chai';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildExampleServer } from '../../examples/mcp-stdio/tools';

/**
 * The example server's test tool `hold` waits for a file: only one in the temporary directory,
 * where the tests make theirs. Anywhere else, a caller of the shared examples server could learn
 * whether any file on the gateway's host exists (the call answers or waits).
 */
describe('example MCP server: the hold test tool', function () {
  this.timeout(20_000);
  let client: Client;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-hold-'));
    const [a, b] = InMemoryTransport.createLinkedPair();
    await buildExampleServer({ testTools: true }).connect(a);
    client = new Client({ name: 'test', version: '0' });
    await client.connect(b);
  });
  after(async () => {
    await client.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers once its file in the temporary directory exists', async () => {
    const gate = join(dir, 'gate');
    writeFileSync(gate, '');
    const res = await client.callTool({ name: 'hold', arguments: { path: gate } });
    expect(res.isError).to.not.equal(true);
  });

  for (const path of ['/etc/passwd', `${tmpdir()}/../etc/passwd`, '../../../../../../../../etc/passwd']) {
    it(`refuses a path outside the temporary directory (${path}), whether or not it exists`, async () => {
      const res = await client.callTool({ name: 'hold', arguments: { path } });
      expect(res.isError).to.equal(true);
      expect(JSON.stringify(res.content)).to.match(/temporary directory/);
    });
  }
});
