import { InvalidCursorError, NotFoundError, OpenMcpError } from '../../../src/core/errors';
import type { Actor } from '../../../src/core/envelope';
import type { EventStore } from '../../../src/eventstore/port';
import type { McpGatewayService, ProofsService, RegisterServerParameters } from '../../../src/api/services';
import type { BatchViewOutput } from '../../../src/api/schemas/batches';
import type { McpServerViewOutput } from '../../../src/api/schemas/mcp';

const ZERO = `0x${'0'.repeat(64)}`;
const ROOT = `0x${'ab'.repeat(32)}`;

/**
 * In-test stand-in for the proofs service (src/proofs is being written in parallel): events at
 * positions below `anchoredBelow` have a proof; later ones are PROOF_PENDING.
 */
export class FakeProofs implements ProofsService {
  anchoredBelow = 0;
  readonly batch: BatchViewOutput = { id: 0, firstSeq: 0, lastSeq: 0, size: 1, firstPosition: 0, lastPosition: 0, root: ROOT, prevRoot: ZERO, signer: `0x${'5'.repeat(40)}`, signature: `0x${'6'.repeat(130)}`, sealedAt: '2026-12-06T00:00:00.000Z', anchor: null };

  constructor(private readonly store: EventStore) {}

  async getProof(tenant: string | null, eventId: string) {
    const e = (await this.store.readAll({ limit: 100_000 })).find((x) => x.id === eventId);
    if (!e || (tenant !== null && e.tenant !== tenant)) throw new NotFoundError('event', eventId);
    if (e.position >= this.anchoredBelow) {
      throw new OpenMcpError('PROOF_PENDING', `event ${eventId} is not in an anchored batch yet`, { status: 409, details: { retryAfterSeconds: 7 } });
    }
    const { id, firstSeq, lastSeq, root, prevRoot, signer, signature } = this.batch;
    const anchor = { chainId: 31337, contract: `0x${'c'.repeat(40)}`, txHash: `0x${'7'.repeat(64)}`, blockNumber: 1 };
    return { format: 'openmcp-proof/1' as const, event: { ...e }, seq: e.position, batch: { id, firstSeq, lastSeq, root, prevRoot, signer, signature }, index: e.position, treeSize: 1, path: [], anchor };
  }

  async listBatches(p: { limit: number; cursor?: string }) {
    if (p.cursor !== undefined) throw new InvalidCursorError(); // as the real one's decodeCursor does
    return { items: [this.batch] };
  }

  async getBatch(id: number) {
    return id === 0 ? this.batch : undefined;
  }

  async getBatchEvents(id: number) {
    if (id !== 0) return undefined;
    const events = (await this.store.readAll({ limit: 1 })).map((e) => ({ ...e, seq: e.position, batchId: 0 }));
    return { batch: this.batch, events };
  }
}

/** In-test stand-in for the MCP gateway service: servers per tenant in a map. */
export class FakeGateway implements McpGatewayService {
  readonly servers = new Map<string, McpServerViewOutput & { tenant: string }>();
  private n = 0;

  async registerServer(p: RegisterServerParameters) {
    if ([...this.servers.values()].some((s) => s.tenant === p.tenant && s.name === p.name)) {
      throw new OpenMcpError('MCP_SERVER_EXISTS', `server ${p.name} exists`, { status: 409 });
    }
    const s = { id: `srv-${++this.n}`, name: p.name, transport: p.transport, tenant: p.tenant, status: 'up' };
    this.servers.set(s.id, s);
    return { server: s, existed: false };
  }

  async listServers(tenant: string) {
    return [...this.servers.values()].filter((s) => s.tenant === tenant);
  }

  async removeServer(tenant: string, id: string, _actor: Actor) {
    const s = this.servers.get(id);
    if (!s || s.tenant !== tenant) throw new NotFoundError('mcp server', id);
    this.servers.delete(id);
  }

  /** Served names the fake's catalog holds (an alias, as the gateway serves a name hosts do not take), by tenant. */
  readonly aliases = new Map<string, { server: string; tool: string }>();

  servedTool(tenant: string, name: string) {
    return this.aliases.get(`${tenant}/${name}`);
  }

  async searchTools(tenant: string, q: string, k: number) {
    return (await this.listServers(tenant)).slice(0, k).map((s) => ({ name: `${s.name}__echo`, server: s.name, description: `echo (${q})`, score: 1 }));
  }
}
