/**
 * Without REDIS_URL the LLM response cache is each process's memory, and an erasure
 * (DELETE /v1/subjects/:subject/key, on an api process) takes a subject's turns out of its own
 * process's only. Where the model's answers are cached for erasable turns (MCP_PAYLOAD_POLICY=encrypted,
 * LLM_REDACTION=hash-only, LLM_CACHE_TTL_MS set), a process that runs agent without api (its cache out
 * of every erasure's reach) or api without agent (erasures answered 204 that reach no worker's cache)
 * is refused at start, before anything is made; with REDIS_URL, both roles in one process, or the
 * answers not cached, it is not.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { erasureReachError } from '../../src/app/erasure-reach-error';
import { parseRoles } from '../../src/app/roles';
import { loadConfig } from '../../src/config';
import { startOpenMcp } from '../../src/main';
import { freePort } from '../support/free-port';

const CACHED = { MCP_PAYLOAD_POLICY: 'encrypted', LLM_REDACTION: 'hash-only', LLM_CACHE_TTL_MS: '600000', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1' } as const;

describe('openmcp start: an LLM response cache in memory that an erasure cannot reach (roles split without REDIS_URL)', function () {
  this.timeout(60_000);

  const errorFor = (env: Record<string, string>, roles: string) => erasureReachError(loadConfig({ DATA_DIR: '/tmp/unused', ...env }), parseRoles(roles));

  it('agent without api, or api without agent: CONFIG_INVALID naming REDIS_URL, why, and the two ways out', () => {
    for (const roles of ['agent', 'agent,projector', 'api', 'api,gateway,relay']) {
      const err = errorFor(CACHED, roles);
      expect(err, roles).to.have.property('code', 'CONFIG_INVALID');
      expect(err, roles).to.have.nested.property('details.variable', 'REDIS_URL');
      expect(err!.message, roles).to.include('LLM_CACHE_TTL_MS=600000').and.include('set REDIS_URL').and.include('unset LLM_CACHE_TTL_MS');
      expect(err!.message, roles).to.include(roles.startsWith('agent') ? 'runs agent without api' : 'runs api without agent');
    }
  });

  it('not refused: REDIS_URL, both roles in one process, roles without either, or nothing erasable cached', () => {
    for (const roles of ['all', 'api,agent', 'relay', 'projector,sealer']) expect(errorFor(CACHED, roles), roles).to.equal(undefined);
    expect(errorFor({ ...CACHED, REDIS_URL: 'redis://127.0.0.1:6379' }, 'agent')).to.equal(undefined);
    expect(errorFor({ ...CACHED, LLM_CACHE_TTL_MS: '0' }, 'agent'), 'the cache off').to.equal(undefined);
    const { LLM_CACHE_TTL_MS: _ttl, ...unset } = CACHED;
    expect(errorFor(unset, 'agent'), 'LLM_CACHE_TTL_MS unset: off under hash-only').to.equal(undefined);
    expect(errorFor({ ...CACHED, MCP_PAYLOAD_POLICY: 'hash-only' }, 'agent'), 'nothing sealed to erase').to.equal(undefined);
    expect(errorFor({ ...CACHED, LLM_REDACTION: 'store', MCP_PAYLOAD_POLICY: 'store' }, 'agent')).to.equal(undefined);
    expect(errorFor({ ...CACHED, LLM_TEMPERATURE: '0.7' }, 'agent'), 'a temperature above 0: no answer is cached').to.equal(undefined);
    expect(errorFor({ ...CACHED, LLM_TEMPERATURE: '0.7' }, 'api'), 'likewise').to.equal(undefined);
  });

  it('refused by openmcp start before the database or a bootstrap key exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'omc-erasure-reach-'));
    try {
      const data = join(dir, 'data');
      const config = loadConfig({
        ...CACHED,
        DATA_DIR: data,
        LOG_LEVEL: 'silent',
        OPENMCP_EXAMPLES: 'off',
        PORT: String(await freePort()),
        OPENMCP_ROLES: 'agent',
        CHAIN_RPC_URL: `http://127.0.0.1:${await freePort()}`,
        ANCHOR_CONTRACT: `0x${'11'.repeat(20)}`,
      });
      const lines: string[] = [];
      const err = await startOpenMcp(config, { print: (l) => lines.push(l) }).then(
        async (app) => void (await app.close()),
        (e: unknown) => e,
      );
      expect(err).to.have.property('code', 'CONFIG_INVALID');
      expect(err).to.have.nested.property('details.variable', 'REDIS_URL');
      expect(existsSync(data) ? readdirSync(data) : [], 'nothing made in DATA_DIR').to.deep.equal([]);
      expect(lines, 'no bootstrap key printed').to.deep.equal([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
