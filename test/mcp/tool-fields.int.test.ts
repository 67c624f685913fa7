import { expect } from 'chai';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { FastifyInstance } from 'fastify';
import { catalog } from '../../events';
import type { RecordedEvent } from '../../src/core/envelope';
import { McpGateway } from '../../src/mcp/gateway';
import { startBehaviourUpstream, type BehaviourUpstream } from './support/behaviour-upstream';
import { httpClient, startGatewayHttp } from './support/clients';
import { openTempSqliteStore } from './support/stores';

const actor = { kind: 'user' as const, id: 'alice' };
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';
const ICONS = [
  { src: PNG, mimeType: 'image/png', sizes: ['1x1'] },
  { src: 'https://example.com/media.svg', mimeType: 'image/svg+xml', sizes: ['any'], theme: 'dark' as const },
];
const META = { 'example.com/ui': { height: 1.5, kind: 'chart' } };

/**
 * Newer MCP clients show a tool's icons and read its `_meta`: the gateway carries both from the
 * upstream's tools/list through the log (McpServerToolsDiscovered v2, written only when used) to
 * its own tools/list; tools without them are recorded as before (v1).
 */
describe('MCP gateway: tool icons and _meta', function () {
  this.timeout(30_000);
  let db: Awaited<ReturnType<typeof openTempSqliteStore>>;
  let gateway: McpGateway;
  let plain: BehaviourUpstream;
  let rich: BehaviourUpstream;
  let http: { app: FastifyInstance; url: string };
  let client: Client;

  before(async function () {
    db = await openTempSqliteStore();
    gateway = new McpGateway({ store: db.store, upstream: { healthIntervalMs: 0 } });
    await gateway.start();
    plain = await startBehaviourUpstream();
    rich = await startBehaviourUpstream();
    rich.setToolExtras('media', {
      icons: [...ICONS, { src: 'javascript:alert(1)' }, { src: `data:image/png;base64,${'A'.repeat(10_000)}` }],
      _meta: META,
      execution: { taskSupport: 'optional' },
    });
    // An older upstream: its title only in annotations.
    plain.setToolExtras('hold', { annotations: { title: 'Hold on', readOnlyHint: true } });
    await gateway.registerServer({ tenant: 'acme', actor, name: 'plain', transport: 'http', url: plain.url });
    await gateway.registerServer({ tenant: 'acme', actor, name: 'rich', transport: 'http', url: rich.url });
    http = await startGatewayHttp(gateway);
    client = await httpClient(http.url, 'key-acme-alice');
  });

  after(async function () {
    await client?.close().catch(() => {});
    await http?.app.close();
    await gateway?.close();
    await plain?.close();
    await rich?.close();
    await db?.cleanup();
  });

  async function discoveries(): Promise<RecordedEvent[]> {
    return (await db.store.readAll({ limit: 10_000 })).filter((e) => e.type === 'McpServerToolsDiscovered');
  }

  it('tools/list shows the upstream icons (those the log can hold) and _meta; not execution (the gateway serves no tasks)', async function () {
    const { tools } = await client.listTools();
    const media = tools.find((t) => t.name === 'rich__media')!;
    expect(media.icons).to.deep.equal(ICONS);
    expect(media._meta).to.deep.equal(META);
    expect(media).not.to.have.property('execution');
    const other = tools.find((t) => t.name === 'plain__media')!;
    expect(other).not.to.have.property('icons');
    expect(other).not.to.have.property('_meta');
  });

  it('lists a title both ways (title, and annotations.title for clients of older protocol versions), wherever the upstream gave it', async function () {
    const { tools } = await client.listTools();
    const hold = tools.find((t) => t.name === 'plain__hold')!;
    expect(hold.title).to.equal('Hold on');
    expect(hold.annotations).to.deep.equal({ title: 'Hold on', readOnlyHint: true });
  });

  it('records them in McpServerToolsDiscovered v2 only for the server that has them; the other stays v1', async function () {
    const [p, r] = await discoveries();
    expect(p.version).to.equal(1);
    expect((p.data as { tools: Record<string, unknown>[] }).tools.filter((t) => 'icons' in t || 'metaJson' in t)).to.deep.equal([]);
    expect(() => catalog.validate(p.type, 1, p.data)).not.to.throw();
    expect(r.version).to.equal(2);
    const media = (r.data as { tools: { name: string; icons?: unknown; metaJson?: string }[] }).tools.find((t) => t.name === 'media')!;
    expect(media.icons).to.deep.equal(ICONS);
    expect(media.metaJson).to.equal('{"example.com/ui":{"height":1.5,"kind":"chart"}}');
    expect(() => catalog.validate(r.type, r.version, r.data)).not.to.throw();
  });

  it('a replica (or a restart) rebuilds them from the log', async function () {
    const other = new McpGateway({ store: db.store, follow: false, upstream: { healthIntervalMs: 0 } });
    await other.start();
    try {
      const media = other.listTools('acme').find((t) => t.name === 'rich__media')!;
      expect(media.icons).to.deep.equal(ICONS);
      expect(media.meta).to.deep.equal(META);
    } finally {
      await other.close();
    }
  });
});
