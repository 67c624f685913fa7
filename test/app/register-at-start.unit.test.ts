import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerAtStart } from '../../src/app/register-at-start';
import { REGISTRATIONS_CHECK_NAME, registrationsReadiness } from '../../src/app/registrations-readiness';
import { McpGatewayError } from '../../src/mcp/errors';
import type { McpGateway } from '../../src/mcp/gateway';
import type { RegisterServerParameters } from '../../src/mcp/types';

const actor = { kind: 'system' as const, id: 'openmcp' };

/** Only what registerAtStart uses of a gateway; each ensureServer waits until the test settles it by name. */
function pendingGateway(known: string[] = [], undiscovered: string[] = []) {
  const settle = new Map<string, { resolve(): void; reject(err: unknown): void }>();
  const held: Promise<unknown>[] = [];
  const gateway = {
    listServers: () => [...known.map((name) => ({ tenant: '*', name, toolCount: 1 })), ...undiscovered.map((name) => ({ tenant: '*', name, toolCount: 0 }))],
    ensureServer: (p: RegisterServerParameters) => new Promise<void>((resolve, reject) => settle.set(p.name, { resolve, reject })),
    holdListing: (r: Promise<unknown>) => void held.push(r),
  } as unknown as McpGateway;
  return { gateway, settle, held };
}
const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

describe('registerAtStart (openmcp start, mcp stdio): the start-up registrations in the background, and their /readyz line', () => {
  let dir: string;
  let file: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-register-at-start-'));
    file = join(dir, 'servers.json');
    writeFileSync(file, JSON.stringify({ mcpServers: { files: { command: 'npx' }, local: { url: 'http://127.0.0.1:3001/mcp' } } }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('names those in flight; a failure is told (onFailure), kept with its error, and on the line with its code, the others run on', async () => {
    const { gateway, settle, held } = pendingGateway(['local']);
    const told: string[] = [];
    const r = registerAtStart(gateway, { MCP_SERVERS_FILE: file, OPENMCP_EXAMPLES: 'off' }, actor, { onFailure: (server, err) => told.push(`${server}: ${(err as Error).message}`) });
    const line = registrationsReadiness(r);
    expect(r.count).to.equal(2);
    // Only the server new to the catalog holds the listing back.
    expect(held).to.have.length(1);
    expect(await line.check()).to.deep.equal({ state: 'degraded', detail: 'registering 2 of 2: files, local (calls to them wait for it)' });

    settle.get('files')!.reject(new McpGatewayError('AUDIT_UNAVAILABLE', 'the event store failed'));
    await flush();
    expect(told).to.deep.equal(['files: the event store failed']);
    expect(r.failed().map((f) => f.server)).to.deep.equal(['files']);
    expect(await line.check()).to.deep.equal({
      state: 'degraded',
      detail: 'registering 1 of 2: local (calls to them wait for it); files failed: AUDIT_UNAVAILABLE: the event store failed (restart to try again)',
    });

    settle.get('local')!.resolve();
    await r.settled;
    expect(await line.check()).to.deep.equal({ state: 'degraded', detail: 'files failed: AUDIT_UNAVAILABLE: the event store failed (restart to try again)' });
    expect(await r.all.then(() => 'resolved', (err: Error) => err.message)).to.equal('the event store failed');
  });

  it('a server registered (by another process starting beside it) whose tools no process has discovered yet holds calls of unknown tools as a new one does: a task step failed MCP_TOOL_NOT_FOUND', async () => {
    const { gateway, settle, held } = pendingGateway(['local'], ['files']);
    const r = registerAtStart(gateway, { MCP_SERVERS_FILE: file, OPENMCP_EXAMPLES: 'off' }, actor);
    expect(held).to.have.length(1);
    for (const s of settle.values()) s.resolve();
    await r.settled;
  });

  it('up once every one has registered', async () => {
    const { gateway, settle } = pendingGateway();
    const r = registerAtStart(gateway, { MCP_SERVERS_FILE: file, OPENMCP_EXAMPLES: 'off' }, actor);
    for (const s of settle.values()) s.resolve();
    await r.settled;
    expect(r.inFlight()).to.deep.equal([]);
    expect(await registrationsReadiness(r).check()).to.deep.equal({ state: 'up', detail: '2 registered' });
    expect(registrationsReadiness(r).name).to.equal(REGISTRATIONS_CHECK_NAME);
  });
});
