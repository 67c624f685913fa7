import { InvalidTransitionError } from '../core/errors';
import type { Decider, EventDraft } from '../domain/decider';
import type { Role } from './roles';

/** `agents`: the ids the key may act as, as its log says (ApiKeyCreated v2, then the last ApiKeyAgentsChanged); absent = any. */
export type ApiKeyState = { status: 'none' | 'active' | 'revoked'; agents?: string[] };

export type ApiKeyCommand =
  | { type: 'CreateApiKey'; keyId: string; role: Role; name?: string; crossTenant: boolean; prefix: string; agents?: string[] }
  /** `agents` absent: the key may act as any agent of its tenant. */
  | { type: 'ChangeApiKeyAgents'; keyId: string; agents?: string[] }
  | { type: 'RevokeApiKey'; keyId: string };

/** The same limit: both none, or the same ids (a list is a set: its order means nothing). */
function sameAgents(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (!a || !b) return !a && !b;
  return a.length === b.length && a.every((id) => b.includes(id));
}

const agentsOf = (event: EventDraft): Pick<ApiKeyState, 'agents'> => {
  const agents = (event.data as { agents?: string[] }).agents;
  return agents ? { agents } : {};
};

/** The audit trail of a key: created once, its agents changed any number of times while active, revoked at most once. */
export const apiKeyDecider: Decider<ApiKeyState, ApiKeyCommand, EventDraft> = {
  name: 'apikey',
  initialState: () => ({ status: 'none' }),
  decide(command, state) {
    if (command.type === 'CreateApiKey') {
      const { type, ...data } = command;
      if (state.status !== 'none') throw new InvalidTransitionError('apikey', state.status, type);
      // v2 only for a key limited to agents: consumers that know v1 keep reading every other key's event.
      return [{ type: 'ApiKeyCreated', version: data.agents ? 2 : 1, data: Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined)) }];
    }
    if (command.type === 'ChangeApiKeyAgents') {
      if (state.status !== 'active') throw new InvalidTransitionError('apikey', state.status, command.type);
      // The list it has already: nothing to record, so a repeated request (a retry) records nothing twice.
      if (sameAgents(state.agents, command.agents)) return [];
      return [{ type: 'ApiKeyAgentsChanged', data: { keyId: command.keyId, ...(command.agents ? { agents: [...command.agents] } : {}) } }];
    }
    const { type, ...data } = command;
    if (state.status === 'revoked') throw new InvalidTransitionError('apikey', state.status, type, `api key ${data.keyId} is revoked already`);
    if (state.status !== 'active') throw new InvalidTransitionError('apikey', state.status, type);
    return [{ type: 'ApiKeyRevoked', data }];
  },
  evolve(state, event) {
    if (event.type === 'ApiKeyCreated') return { status: 'active', ...agentsOf(event) };
    if (event.type === 'ApiKeyAgentsChanged') return { status: state.status, ...agentsOf(event) };
    if (event.type === 'ApiKeyRevoked') return { ...state, status: 'revoked' };
    return state;
  },
};

export const apiKeyStream = (keyId: string) => `apikey-${keyId}`;
