import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { catalog } from '../../events';
import { createEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import { openSqlEventStore } from '../../src/eventstore/sql';
import type { SqlEventStore } from '../../src/eventstore/sql/sql-event-store';
import { McpGateway } from '../../src/mcp/gateway';

const actor = { kind: 'user' as const, id: 'alice' };
const tool = { name: 'lookup', inputSchemaJson: '{"type":"object"}', trustTier: 'new in v99' };

/**
 * The gateway's catalog is a read model that serves every tenant: an event of a newer release on a
 * server's stream is applied as far as this release reads it (passed through, never a stop), and
 * the operator is told once per type and version.
 */
describe('MCP gateway: registry events of a newer release', function () {
  this.timeout(30_000);
  let dir: string;
  let store: SqlEventStore;
  let gw: McpGateway | undefined;
  let warned: { obj: Record<string, unknown>; msg?: string }[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'omc-gw-newer-'));
    store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`, { pollIntervalMs: 20 });
    warned = [];
  });
  afterEach(async () => {
    await gw?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('applies McpServerToolsDiscovered v99 by the fields it knows, and warns once per type and version, at start and when followed', async () => {
    const id = newId();
    const stream = `mcpserver-${id}`;
    const registered = createEvent({ type: 'McpServerRegistered', version: 1, stream, tenant: 'acme', actor, data: catalog.validate('McpServerRegistered', 1, { name: 'files', transport: 'http', url: 'http://127.0.0.1:9/mcp' }) });
    const discovered = (n: number) => createEvent({ type: 'McpServerToolsDiscovered', version: 99, stream, tenant: 'acme', actor, data: { tools: [{ ...tool, name: `lookup${n}` }], toolsHash: `0x${String(n).repeat(64)}`, toolsSignedBy: 'x' } });
    await store.append(stream, [registered, discovered(1)], { expectedRevision: 'no_stream' });
    gw = new McpGateway({ store, upstream: { healthIntervalMs: 0 }, logger: { warn: (obj, msg) => warned.push({ obj: obj as Record<string, unknown>, msg }) } });
    await gw.start();
    expect(gw.listTools('acme').map((t) => t.name)).to.deep.equal(['files__lookup1']);
    await store.append(stream, [discovered(2)], { expectedRevision: 1 });
    const deadline = Date.now() + 10_000;
    while (gw.listTools('acme')[0]?.name !== 'files__lookup2' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(gw.listTools('acme').map((t) => t.name)).to.deep.equal(['files__lookup2']);
    const newer = warned.filter((w) => /newer release/.test(w.msg ?? ''));
    expect(newer).to.have.length(1);
    expect(newer[0].obj).to.include({ type: 'McpServerToolsDiscovered', version: 99, latestVersion: catalog.latestVersion('McpServerToolsDiscovered') });
  });
});
