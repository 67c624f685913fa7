import { expect } from 'chai';
import { catalog } from '../../events';
import { apiKeyDecider, type ApiKeyState } from '../../src/auth/api-key.decider';
import { createEvent } from '../../src/core/envelope';
import { InvalidTransitionError } from '../../src/core/errors';

const KEY = '01900000-0000-7000-8000-00000000000a';
const created = (agents?: string[]) => ({ type: 'ApiKeyCreated', version: agents ? 2 : 1, data: { keyId: KEY, role: 'agent', crossTenant: false, prefix: 'omk_abcdefgh', ...(agents ? { agents } : {}) } });
const changed = (agents?: string[]) => ({ type: 'ApiKeyAgentsChanged', version: 1, data: { keyId: KEY, ...(agents ? { agents } : {}) } });
const revoked = () => ({ type: 'ApiKeyRevoked', version: 1, data: { keyId: KEY } });

/** A key's stream as the log holds it, read back the way handleCommand does (upcast, then evolve). */
function replay(events: { type: string; version: number; data: Record<string, unknown> }[]): ApiKeyState {
  return events
    .map((e, i) => ({ ...createEvent({ ...e, stream: `apikey-${KEY}`, tenant: 'acme', actor: { kind: 'user' as const, id: 'admin' }, data: catalog.validate(e.type, e.version, e.data) }), revision: i, position: i }))
    .map((e) => catalog.upcast(e))
    .reduce((s, e) => apiKeyDecider.evolve(s, { type: e.type, data: e.data }), apiKeyDecider.initialState());
}

describe('apiKeyDecider: the agents a key may act as, from its stream', () => {
  it('replays ApiKeyCreated (v1: any agent; v2: its list) and every ApiKeyAgentsChanged after it, the last one winning', () => {
    expect(replay([created()])).to.deep.equal({ status: 'active' });
    expect(replay([created(['a'])])).to.deep.equal({ status: 'active', agents: ['a'] });
    expect(replay([created(['a']), changed(['b', 'c'])])).to.deep.equal({ status: 'active', agents: ['b', 'c'] });
    expect(replay([created(['a']), changed(['b']), changed()])).to.deep.equal({ status: 'active' });
    expect(replay([created(), changed(['x']), revoked()])).to.deep.equal({ status: 'revoked', agents: ['x'] });
  });

  it('ChangeApiKeyAgents: ApiKeyAgentsChanged with the new list, none for no limit', () => {
    expect(apiKeyDecider.decide({ type: 'ChangeApiKeyAgents', keyId: KEY, agents: ['b'] }, replay([created(['a'])]))).to.deep.equal([
      { type: 'ApiKeyAgentsChanged', data: { keyId: KEY, agents: ['b'] } },
    ]);
    expect(apiKeyDecider.decide({ type: 'ChangeApiKeyAgents', keyId: KEY }, replay([created(['a'])]))).to.deep.equal([{ type: 'ApiKeyAgentsChanged', data: { keyId: KEY } }]);
    expect(apiKeyDecider.decide({ type: 'ChangeApiKeyAgents', keyId: KEY, agents: ['a'] }, replay([created()]))).to.have.length(1);
  });

  it('the list the key already has (in any order) decides nothing', () => {
    const state = replay([created(['a']), changed(['b', 'c'])]);
    expect(apiKeyDecider.decide({ type: 'ChangeApiKeyAgents', keyId: KEY, agents: ['b', 'c'] }, state)).to.deep.equal([]);
    expect(apiKeyDecider.decide({ type: 'ChangeApiKeyAgents', keyId: KEY, agents: ['c', 'b'] }, state)).to.deep.equal([]);
    expect(apiKeyDecider.decide({ type: 'ChangeApiKeyAgents', keyId: KEY }, replay([created()]))).to.deep.equal([]);
    expect(apiKeyDecider.decide({ type: 'ChangeApiKeyAgents', keyId: KEY, agents: ['b'] }, state)).to.have.length(1);
  });

  it('refuses a revoked key and a key the log does not know', () => {
    expect(() => apiKeyDecider.decide({ type: 'ChangeApiKeyAgents', keyId: KEY, agents: ['a'] }, replay([created(), revoked()]))).to.throw(InvalidTransitionError, /revoked/);
    expect(() => apiKeyDecider.decide({ type: 'ChangeApiKeyAgents', keyId: KEY, agents: ['a'] }, apiKeyDecider.initialState())).to.throw(InvalidTransitionError);
  });

  it('RevokeApiKey of a revoked key says so in words (was "apikey in state revoked cannot RevokeApiKey", what `openmcp keys revoke` printed)', () => {
    expect(apiKeyDecider.decide({ type: 'RevokeApiKey', keyId: KEY }, replay([created()]))).to.deep.equal([{ type: 'ApiKeyRevoked', data: { keyId: KEY } }]);
    let err: InvalidTransitionError | undefined;
    try {
      apiKeyDecider.decide({ type: 'RevokeApiKey', keyId: KEY }, replay([created(), revoked()]));
    } catch (e) {
      err = e as InvalidTransitionError;
    }
    expect(err).to.be.instanceOf(InvalidTransitionError);
    expect(err!.message).to.equal(`api key ${KEY} is revoked already`);
    expect(err!.from).to.equal('revoked');
  });
});
