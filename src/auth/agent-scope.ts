import { AgentNotAllowedError } from './errors';
import type { Principal } from './principal';

type Scoped = Pick<Principal, 'agents' | 'via'>;

const limitedTo = (via: Principal['via'], agents: readonly string[]) => `this ${via === 'jwt' ? 'token' : 'key'} is limited to agents ${agents.join(', ')}`;

/** Whether the principal may act as this agent: any, without a list; with one, only a listed id (never none). */
export function mayActAs(p: Pick<Principal, 'agents'>, agentId: string | undefined): boolean {
  return !p.agents || (agentId !== undefined && p.agents.includes(agentId));
}

/**
 * Throws AGENT_NOT_ALLOWED (403) unless `p` may submit a task as `agentId`; call it before
 * anything is appended. A limited principal must name an agent: a task without agentId would take
 * the tenant-wide policy entry, not its agents'.
 * @example assertMaySubmitAs(principal, body.agentId)
 */
export function assertMaySubmitAs(p: Scoped, agentId: string | undefined): void {
  if (!p.agents || mayActAs(p, agentId)) return;
  const why = agentId === undefined ? 'name one of them in agentId' : `it may not submit a task as ${agentId}`;
  throw new AgentNotAllowedError(`${limitedTo(p.via, p.agents)}: ${why}`, { field: 'body.agentId', ...(agentId !== undefined ? { agentId } : {}) });
}

/**
 * Throws AGENT_NOT_ALLOWED (403) unless `p` may act on (cancel, approve) a task submitted with
 * `agentId`. Requires the task to be of the principal's tenant: another tenant's stays 404.
 */
export function assertMayActOnTask(p: Scoped, taskId: string, agentId: string | undefined): void {
  if (!p.agents || mayActAs(p, agentId)) return;
  const whose = agentId === undefined ? 'names no agent' : `is agent ${agentId}'s`;
  throw new AgentNotAllowedError(`${limitedTo(p.via, p.agents)}: task ${taskId} ${whose}`, { taskId, ...(agentId !== undefined ? { agentId } : {}) });
}

/**
 * Throws AGENT_NOT_ALLOWED (403) unless `by` may issue a key limited to `agents` (undefined = not
 * limited), or change a key's list to `agents` (`action` 'change'): a limited principal issues or
 * sets only lists within its own agents, or it would hand out more than it holds.
 */
export function assertMayIssueFor(by: Scoped, agents: readonly string[] | undefined, action: 'issue' | 'change' = 'issue'): void {
  if (!by.agents) return;
  const mine = by.agents;
  const outside = agents?.filter((a) => !mine.includes(a)) ?? [];
  if (agents && outside.length === 0) return;
  const why =
    action === 'issue'
      ? agents
        ? `it may not issue a key for ${outside.join(', ')}`
        : 'a key it issues must be limited to some of them (agents)'
      : agents
        ? `it may not give a key ${outside.join(', ')}`
        : 'a key it changes must stay limited to some of them (agents)';
  throw new AgentNotAllowedError(`${limitedTo(by.via, mine)}: ${why}`, { field: 'body.agents' });
}
