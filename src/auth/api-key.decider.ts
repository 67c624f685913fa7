import { InvalidTransitionError } from '../core/errors';
import type { Decider, EventDraft } from '../domain/decider';
import type { Role } from './roles';

export type ApiKeyState = { status: 'none' | 'active' | 'revoked' };

export type ApiKeyCommand =
  | { type: 'CreateApiKey'; keyId: string; role: Role; name?: string; crossTenant: boolean; prefix: string; agents?: string[] }
  | { type: 'RevokeApiKey'; keyId: string };

/** The audit trail of a key: created once, revoked at most once. */
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
    const { type, ...data } = command;
    if (state.status !== 'active') throw new InvalidTransitionError('apikey', state.status, type);
    return [{ type: 'ApiKeyRevoked', data }];
  },
  evolve(state, event) {
    if (event.type === 'ApiKeyCreated') return { status: 'active' };
    if (event.type === 'ApiKeyRevoked') return { status: 'revoked' };
    return state;
  },
};

export const apiKeyStream = (keyId: string) => `apikey-${keyId}`;
