import type { McpGatewayService, ProofsService } from '../api/services';
import type { AuditEventView, ReadModels } from '../readmodels/port';
import type { RecordedEvent } from '../core/envelope';
import { NotFoundError, ValidationError } from '../core/errors';
import type { McpGateway } from '../mcp';
import { buildProofForEvent, getBatch, getBatchEvents, listBatches, type ProofQueryDependencies } from '../proofs';

/** The envelope of an audit-log row (its seq and batch are read-model additions). */
export function envelopeOf(view: AuditEventView): RecordedEvent {
  const { seq: _seq, batchId: _batchId, ...envelope } = view;
  return envelope;
}

/** The REST API's view of the MCP gateway. */
export function gatewayService(gateway: McpGateway): McpGatewayService {
  const view = (s: ReturnType<McpGateway['listServers']>[number]) => ({ ...s, status: s.health });
  return {
    registerServer: async (p) => view(await gateway.registerServer(p)),
    listServers: async (tenant) => gateway.listServers(tenant).map(view),
    removeServer: (tenant, id, actor) => gateway.removeServer(tenant, id, actor),
    searchTools: async (tenant, q, k) =>
      (await gateway.searchTools(tenant, q, k)).map(({ tool, score }) => ({
        name: tool.name,
        server: tool.server,
        description: tool.description,
        inputSchema: tool.inputSchema,
        annotations: tool.annotations,
        score,
      })),
  };
}

const BATCH_CURSOR = /^b(0|[1-9][0-9]{0,14})$/;

/** The REST API's view of the proofs context: proofs, batches and their exports. */
export function proofsService(queries: ProofQueryDependencies, readModels: ReadModels): ProofsService {
  const orUndefined = async <T>(p: Promise<T>): Promise<T | undefined> => {
    try {
      return await p;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  };
  return {
    async getProof(tenant, eventId) {
      const event = await readModels.getAuditEvent(tenant, eventId);
      if (!event) throw new NotFoundError('event', eventId);
      return buildProofForEvent(queries, envelopeOf(event));
    },
    async listBatches({ limit, cursor }) {
      if (cursor !== undefined && !BATCH_CURSOR.test(cursor)) throw new ValidationError('cursor: not a cursor from a previous page', { field: 'cursor' });
      const before = cursor === undefined ? undefined : Number(cursor.slice(1));
      const items = await listBatches(queries, { before, limit: limit + 1 });
      const page = items.slice(0, limit);
      return { items: page, nextCursor: items.length > limit ? `b${page[page.length - 1].id}` : undefined };
    },
    getBatch: (id) => orUndefined(getBatch(queries, id)),
    getBatchEvents: (id) => orUndefined(getBatchEvents(queries, id)),
  };
}
