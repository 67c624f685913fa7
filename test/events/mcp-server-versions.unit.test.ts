/**
 * A server's own connect timeout is in McpServerRegistered v5 and McpServerReconfigured v2 only:
 * the published schemas of the earlier versions are closed (`additionalProperties: false`), so a
 * consumer validating events against them would reject an old version holding it (the first try,
 * 6968198, added it to v2-v4 and v1 and was taken back). Checked against the exported JSON Schemas
 * with a real JSON Schema validator (ajv, through the MCP SDK), as a consumer in another language would.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import { catalog } from '../../events';
import { createEvent } from '../../src/core/envelope';
import { ToolCatalog } from '../../src/mcp/catalog';

const validator = new AjvJsonSchemaValidator();
/** The exported schema of `type` v`version`, as events/schema holds it. */
const exported = (type: string, version: number) => {
  const { $schema: _draft, ...schema } = JSON.parse(readFileSync(join(__dirname, '../../events/schema', `${type}.v${version}.json`), 'utf8')) as Record<string, unknown>;
  const check = validator.getValidator(schema as never);
  return (data: unknown) => check(data).valid;
};

const actor = { kind: 'system' as const, id: 'mcp-gateway' };
const stdio = { name: 'files', transport: 'stdio', command: 'npx', args: ['-y', 'x'], envKeys: ['TOKEN'] };
/** One event of each version before v5 / v2, as releases before this one recorded them. */
const older: [string, number, Record<string, unknown>][] = [
  ['McpServerRegistered', 1, stdio],
  ['McpServerRegistered', 2, { ...stdio, limits: { timeoutMs: 60_000, maxConcurrent: 2 } }],
  ['McpServerRegistered', 3, { ...stdio, limits: { timeoutMs: 60_000 }, env: { TOKEN: '${env:GITHUB_TOKEN}' } }],
  ['McpServerRegistered', 4, { name: 'web', transport: 'http', url: 'https://mcp.example.com/mcp', limits: { maxConcurrent: 4 }, egress: 'public' }],
  ['McpServerReconfigured', 1, { ...stdio, limits: { timeoutMs: 60_000 }, changed: ['limits'] }],
];

describe('McpServerRegistered v5 and McpServerReconfigured v2: a connect timeout of its own, in new versions only', () => {
  it('the exported schemas of v5 and v2 take connectTimeoutMs from 1000 to 300000 (the later versions too: mcp-server-url-versions)', () => {
    expect(catalog.latestVersion('McpServerRegistered')).to.be.at.least(5);
    expect(catalog.latestVersion('McpServerReconfigured')).to.be.at.least(2);
    const v5 = exported('McpServerRegistered', 5);
    const r2 = exported('McpServerReconfigured', 2);
    for (const connectTimeoutMs of [1000, 120_000, 300_000]) {
      const data = { ...stdio, limits: { connectTimeoutMs }, env: { TOKEN: '${env:GITHUB_TOKEN}' } };
      expect(v5(data), String(connectTimeoutMs)).to.equal(true);
      expect(r2({ ...data, changed: ['limits'] }), String(connectTimeoutMs)).to.equal(true);
      expect(() => catalog.validate('McpServerRegistered', 5, data)).to.not.throw();
    }
    expect(v5({ name: 'web', transport: 'http', url: 'https://mcp.example.com/mcp', limits: { connectTimeoutMs: 5000, timeoutMs: 1, maxConcurrent: 1 }, egress: 'public' })).to.equal(true);
    for (const connectTimeoutMs of [999, 300_001, 1500.5, '10000']) {
      expect(v5({ ...stdio, limits: { connectTimeoutMs } }), String(connectTimeoutMs)).to.equal(false);
      expect(r2({ ...stdio, limits: { connectTimeoutMs }, changed: ['limits'] }), String(connectTimeoutMs)).to.equal(false);
      expect(() => catalog.validate('McpServerRegistered', 5, { ...stdio, limits: { connectTimeoutMs } }), String(connectTimeoutMs)).to.throw(/data\.limits\.connectTimeoutMs/);
    }
    // Still closed: an empty limits object or an unknown limit is refused, as in the earlier versions.
    expect(v5({ ...stdio, limits: {} })).to.equal(false);
    expect(v5({ ...stdio, limits: { connectTimeoutMs: 5000, readTimeoutMs: 1 } })).to.equal(false);
  });

  it('the published schemas of v2 to v4 and McpServerReconfigured v1 are unchanged: still closed to connectTimeoutMs (the reverted change had opened them)', () => {
    for (const [type, version] of [['McpServerRegistered', 2], ['McpServerRegistered', 3], ['McpServerRegistered', 4], ['McpServerReconfigured', 1]] as const) {
      const data = { ...stdio, limits: { connectTimeoutMs: 5000 }, ...(type === 'McpServerReconfigured' ? { changed: ['limits'] } : {}) };
      expect(exported(type, version)(data), `${type} v${version}`).to.equal(false);
      expect(() => catalog.validate(type, version, data), `${type} v${version}`).to.throw(/data\.limits/);
    }
  });

  it('every older version still validates against its own exported schema and the catalog, and reads as the latest with its data as it was (no connect timeout: the gateway default)', () => {
    for (const [type, version, data] of older) {
      expect(exported(type, version)(data), `${type} v${version} (its own schema)`).to.equal(true);
      expect(catalog.validate(type, version, data), `${type} v${version}`).to.deep.equal(data);
      const e = createEvent({ type, version, stream: 'mcpserver-1', tenant: '*', actor, data });
      const read = catalog.upcast(e);
      expect(read.version, `${type} v${version}`).to.equal(catalog.latestVersion(type));
      expect(read.data).to.deep.equal(data);
      expect(read.hash).to.equal(e.hash);
      expect(catalog.validate(type, read.version, read.data), `${type} v${version} read as v${read.version}`).to.deep.equal(data);
      expect((read.data as { limits?: { connectTimeoutMs?: number } }).limits?.connectTimeoutMs).to.equal(undefined);
    }
  });

  it('a consumer that knows only v4 (v1) reads v5 (v2) as docs/consumers.md says: dropping connectTimeoutMs, and limits once nothing is left in it (an empty limits breaks minProperties)', () => {
    /** docs/consumers.md's recipe: drop limits.connectTimeoutMs, and limits when it held nothing else. */
    const asOlder = (data: Record<string, unknown>) => {
      const { connectTimeoutMs: _c, ...limits } = (data.limits ?? {}) as Record<string, unknown>;
      const { limits: _l, ...rest } = data;
      return Object.keys(limits).length ? { ...rest, limits } : rest;
    };
    const web = { name: 'web', transport: 'http', url: 'https://mcp.example.com/mcp', egress: 'public' };
    for (const limits of [{ connectTimeoutMs: 5000 }, { connectTimeoutMs: 5000, maxConcurrent: 2 }]) {
      const v5 = { ...web, limits };
      expect(exported('McpServerRegistered', 5)(v5)).to.equal(true);
      expect(exported('McpServerRegistered', 4)(asOlder(v5)), JSON.stringify(limits)).to.equal(true);
      const { egress: _e, ...settings } = web;
      const r2 = { ...settings, limits, changed: ['limits'] };
      expect(exported('McpServerReconfigured', 2)(r2)).to.equal(true);
      expect(exported('McpServerReconfigured', 1)(asOlder(r2)), JSON.stringify(limits)).to.equal(true);
    }
  });

  it("the gateway's catalog reads a server's limits from every version: v2-v4 without a connect timeout, v5 and McpServerReconfigured v2 with it", () => {
    const c = new ToolCatalog();
    const at = (id: string, revision: number, type: string, version: number, data: Record<string, unknown>) =>
      c.apply({ ...createEvent({ type, version, stream: `mcpserver-${id}`, tenant: '*', actor, data }), revision, position: revision } as never);
    at('a', 0, 'McpServerRegistered', 4, older[3][2]);
    at('b', 0, 'McpServerRegistered', 5, { ...stdio, limits: { connectTimeoutMs: 120_000, timeoutMs: 60_000 } });
    expect(c.server('a')?.limits).to.deep.equal({ maxConcurrent: 4 });
    expect(c.server('b')?.limits).to.deep.equal({ connectTimeoutMs: 120_000, timeoutMs: 60_000 });
    at('a', 1, 'McpServerReconfigured', 2, { ...stdio, limits: { connectTimeoutMs: 2000 }, changed: ['transport', 'command', 'args', 'env', 'url', 'limits'] });
    expect(c.server('a')?.limits).to.deep.equal({ connectTimeoutMs: 2000 });
    at('b', 1, 'McpServerReconfigured', 1, { ...stdio, limits: { timeoutMs: 60_000 }, changed: ['limits'] });
    expect(c.server('b')?.limits).to.deep.equal({ timeoutMs: 60_000 });
  });
});
