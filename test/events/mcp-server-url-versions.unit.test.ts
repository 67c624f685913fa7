/**
 * A URL that refers to the gateway's environment is in McpServerRegistered v6 and
 * McpServerReconfigured v3 only (`urlTemplate`, `url` holding it masked): the published schemas of
 * the earlier versions are closed to it. Checked against the exported JSON Schemas with a real JSON
 * Schema validator (ajv, through the MCP SDK), as a consumer in another language would.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { catalog } from '../../events';
import { createEvent } from '../../src/core/envelope';
import { ToolCatalog } from '../../src/mcp/catalog';

const validator = new AjvJsonSchemaValidator();
const exported = (type: string, version: number) => {
  const { $schema: _draft, ...schema } = JSON.parse(readFileSync(join(__dirname, '../../events/schema', `${type}.v${version}.json`), 'utf8')) as Record<string, unknown>;
  const check = validator.getValidator(schema as never);
  return (data: unknown) => check(data).valid;
};

const actor = { kind: 'system' as const, id: 'mcp-gateway' };
const hosted = { name: 'hosted', transport: 'http', url: 'https://mcp.example.com/mcp?api_key=***', urlTemplate: 'https://mcp.example.com/mcp?api_key=${env:EXAMPLE_KEY}' };

describe('McpServerRegistered v6 and McpServerReconfigured v3: a URL referring to the environment, in new versions only', () => {
  it('the latest versions are v6 and v3; their exported schemas take urlTemplate with at least one ${env:NAME}, and no literal one', () => {
    expect(catalog.latestVersion('McpServerRegistered')).to.equal(6);
    expect(catalog.latestVersion('McpServerReconfigured')).to.equal(3);
    const v6 = exported('McpServerRegistered', 6);
    const r3 = exported('McpServerReconfigured', 3);
    expect(v6(hosted)).to.equal(true);
    expect(v6({ ...hosted, limits: { connectTimeoutMs: 5000 }, headers: { 'X-Org': '${env:ORG}' } })).to.equal(true);
    expect(r3({ ...hosted, changed: ['url'] })).to.equal(true);
    expect(catalog.validate('McpServerRegistered', 6, hosted)).to.deep.equal(hosted);
    for (const urlTemplate of ['https://mcp.example.com/mcp?api_key=sk-literal', 'https://mcp.example.com/mcp?api_key=${EXAMPLE_KEY}', 'https://h/${env:K}\n']) {
      expect(v6({ ...hosted, urlTemplate }), urlTemplate).to.equal(false);
      expect(r3({ ...hosted, urlTemplate, changed: ['url'] }), urlTemplate).to.equal(false);
      expect(() => catalog.validate('McpServerRegistered', 6, { ...hosted, urlTemplate }), urlTemplate).to.throw(/data\.urlTemplate/);
    }
  });

  it('the published schemas of v1 to v5 and McpServerReconfigured v1 and v2 are unchanged: closed to urlTemplate', () => {
    const older: [string, number][] = [1, 2, 3, 4, 5].map((v): [string, number] => ['McpServerRegistered', v]);
    for (const [type, version] of [...older, ['McpServerReconfigured', 1], ['McpServerReconfigured', 2]] as [string, number][]) {
      const data = { ...hosted, ...(type === 'McpServerReconfigured' ? { changed: ['url'] } : {}) };
      expect(exported(type, version)(data), `${type} v${version}`).to.equal(false);
      const { urlTemplate: _t, ...without } = data;
      expect(exported(type, version)(without), `${type} v${version} without it`).to.equal(true);
    }
  });

  it('v5 and v2 read as v6 and v3 as they were (no urlTemplate); the catalog connects with urlTemplate where there is one, else url', () => {
    const v5 = { name: 'web', transport: 'http', url: 'https://mcp.example.com/mcp?api_key=***', limits: { connectTimeoutMs: 5000 } };
    for (const [type, version, data] of [['McpServerRegistered', 5, v5], ['McpServerReconfigured', 2, { ...v5, changed: ['limits'] }]] as const) {
      const e = createEvent({ type, version, stream: 'mcpserver-1', tenant: '*', actor, data });
      const read = catalog.upcast(e);
      expect(read.version).to.equal(catalog.latestVersion(type));
      expect(read.data).to.deep.equal(data);
      expect(read.hash).to.equal(e.hash);
    }
    const c = new ToolCatalog();
    const at = (id: string, revision: number, type: string, version: number, data: Record<string, unknown>) =>
      c.apply({ ...createEvent({ type, version, stream: `mcpserver-${id}`, tenant: '*', actor, data }), revision, position: revision } as never);
    at('a', 0, 'McpServerRegistered', 5, v5);
    at('b', 0, 'McpServerRegistered', 6, hosted);
    expect(c.server('a')?.url).to.equal(v5.url);
    expect(c.server('b')?.url).to.equal(hosted.urlTemplate);
    at('b', 1, 'McpServerReconfigured', 2, { ...v5, changed: ['url', 'limits'] });
    expect(c.server('b')?.url).to.equal(v5.url);
    at('a', 1, 'McpServerReconfigured', 3, { ...hosted, changed: ['url'] });
    expect(c.server('a')?.url).to.equal(hosted.urlTemplate);
  });
});
