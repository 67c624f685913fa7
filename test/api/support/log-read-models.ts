import { InvalidCursorError } from '../../../src/api/errors';
import { isUuid } from '../../../src/core/ids';
import type { EventStore } from '../../../src/eventstore/port';
import type { AuditEventFilter, AuditEventView, Page, ReadModels, TaskListFilter, TaskView } from '../../../src/readmodels/port';

/**
 * A ReadModels answered straight from the event log (folding on every query). Used by the API
 * tests until SqlReadModels is wired; it honours the port's contract: tenant scoping, opaque
 * cursors (bad ones refused with a 400 error), waitForPosition.
 */
export class LogReadModels implements ReadModels {
  constructor(private readonly store: EventStore) {}

  private async tasks(): Promise<TaskView[]> {
    const all = await this.store.readAll({ limit: 1_000_000 });
    const byId = new Map<string, TaskView>();
    for (const e of all) {
      if (!e.stream.startsWith('task-')) continue;
      const id = e.stream.slice(5);
      const d = e.data as Record<string, unknown>;
      if (e.type === 'TaskSubmitted') {
        byId.set(id, {
          id,
          tenant: e.tenant,
          status: 'submitted',
          ...(d.instruction ? { instruction: d.instruction as string } : {}),
          ...(d.agentId ? { agentId: d.agentId as string } : {}),
          steps: ((d.steps as { tool: string; arguments: Record<string, unknown> }[]) ?? []).map((s, index) => ({ index, tool: s.tool, arguments: s.arguments, status: 'pending' as const })),
          createdAt: e.occurredAt,
          updatedAt: e.occurredAt,
          revision: e.revision,
        });
        continue;
      }
      const t = byId.get(id);
      if (!t) continue;
      const status = ({ TaskStarted: 'running', TaskCompleted: 'completed', TaskFailed: 'failed', TaskCancelled: 'cancelled' } as const)[e.type as 'TaskStarted'];
      if (status) t.status = status;
      t.updatedAt = e.occurredAt;
      t.revision = e.revision;
    }
    return [...byId.values()];
  }

  async getTask(tenant: string, id: string): Promise<TaskView | undefined> {
    return (await this.tasks()).find((t) => t.id === id && t.tenant === tenant);
  }

  async listTasks(tenant: string, f: TaskListFilter): Promise<Page<TaskView>> {
    let after: string | undefined;
    if (f.cursor !== undefined) {
      after = Buffer.from(f.cursor, 'base64url').toString('utf8');
      if (!isUuid(after)) throw new InvalidCursorError();
    }
    const items = (await this.tasks())
      .filter((t) => t.tenant === tenant)
      .filter((t) => (!f.status || t.status === f.status) && (!f.agentId || t.agentId === f.agentId))
      .filter((t) => (!f.from || t.createdAt >= f.from) && (!f.to || t.createdAt <= f.to))
      .filter((t) => after === undefined || t.id > after)
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, f.limit);
    const last = items[items.length - 1];
    return { items, ...(last && items.length === f.limit ? { nextCursor: Buffer.from(last.id).toString('base64url') } : {}) };
  }

  async listAuditEvents(tenant: string | null, f: AuditEventFilter): Promise<Page<AuditEventView>> {
    const all = await this.store.readAll({ after: f.after, limit: 1_000_000 });
    const items = all
      .filter((e) => (tenant === null || e.tenant === tenant) && (!f.stream || e.stream === f.stream) && (!f.type || e.type === f.type))
      .slice(0, f.limit)
      .map((e) => ({ ...e, seq: e.position }));
    return { items };
  }

  async getAuditEvent(tenant: string | null, id: string): Promise<AuditEventView | undefined> {
    const e = (await this.store.readAll({ limit: 1_000_000 })).find((x) => x.id === id);
    return e && (tenant === null || e.tenant === tenant) ? { ...e, seq: e.position } : undefined;
  }

  async waitForPosition(position: number, _timeoutMs: number): Promise<boolean> {
    return (await this.store.headPosition()) >= position;
  }
}
