import { expect } from 'chai';
import fc from 'fast-check';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import { catalog } from '../../events';
import { contentOf, createEvent } from '../../src/core/envelope';
import { loneSurrogateIn } from '../../src/core/lone-surrogate';
import { payloadDigest } from '../../src/mcp/payload-hash';
import { toolRecords } from '../../src/mcp/tool-records';
import { listAllTools } from '../../src/mcp/upstream';
import { strictJcsHash, untrustedJson, untrustedText } from '../support/strict-jcs';

/** A tool as an upstream may list it: any text anywhere, lone surrogates included. */
const tool = fc.record(
  {
    name: fc.oneof(fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/), untrustedText),
    title: untrustedText,
    description: untrustedText,
    inputSchema: fc.record({ type: fc.constant('object' as const), properties: fc.dictionary(untrustedText, untrustedJson, { maxKeys: 3 }) }),
    _meta: fc.dictionary(untrustedText, untrustedJson, { maxKeys: 2 }),
  },
  { requiredKeys: ['name', 'inputSchema'] },
) as fc.Arbitrary<Tool>;

describe('an upstream\'s tools/list with lone UTF-16 surrogates (listAllTools, toolRecords)', () => {
  it('McpServerToolsDiscovered as the gateway builds it always hashes as an independent RFC 8785 does; only tools whose name has one are left out (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(tool, { maxLength: 5 }), async (tools) => {
        const listed = await listAllTools(async () => ({ tools }), 'odd');
        const { records, skipped } = toolRecords(listed);
        const named = new Set(records.map((r) => r.name));
        for (const t of tools) if (!t.name.isWellFormed()) expect(named.has(t.name)).to.equal(false);
        for (const s of skipped) expect(s.name.isWellFormed()).to.equal(true);
        const data = catalog.validate('McpServerToolsDiscovered', 2, { tools: records, toolsHash: payloadDigest(records).hash });
        expect(loneSurrogateIn(data)).to.equal(undefined);
        const e = createEvent({ type: 'McpServerToolsDiscovered', version: 2, stream: 'mcpserver-x1', tenant: 'acme', actor: { kind: 'system', id: 'gateway' }, data });
        expect(e.hash).to.equal(strictJcsHash(contentOf(e)));
        expect(data.toolsHash).to.equal(strictJcsHash(records));
      }),
      { numRuns: 200 },
    );
  });
});
