import type { Config } from '../config';
import { ConfigError } from '../core/errors';
import type { Roles } from './roles';

/**
 * Why an erasure could not reach this process's LLM response cache, or undefined. Under
 * MCP_PAYLOAD_POLICY=encrypted with LLM_REDACTION=hash-only, a set LLM_CACHE_TTL_MS keeps each
 * model answer in that cache, which an erasure (DELETE /v1/subjects/:subject/key, on an api
 * process) empties of the subject's turns: in Redis every process shares, or without REDIS_URL in
 * the erasing process's own memory. So without REDIS_URL a process that runs `agent` without `api`
 * keeps answers no erasure reaches, and one that runs `api` without `agent` answers erasures 204
 * while the workers' memory keeps them: refused, where a silent 204 would break the promise that
 * an erasure takes them out or says it did not. (Several `all` processes on one database cannot
 * be told apart from one: the agent's start warning says it, createAgentRuntime.)
 * @example erasureReachError({ MCP_PAYLOAD_POLICY: 'encrypted', LLM_REDACTION: 'hash-only', LLM_CACHE_TTL_MS: 600_000, LLM_TEMPERATURE: 0, OPENAI_BASE_URL: 'http://llm' }, { api: false, agent: true })?.details // { variable: 'REDIS_URL' }
 */
export function erasureReachError(
  c: Pick<Config, 'MCP_PAYLOAD_POLICY' | 'LLM_REDACTION' | 'LLM_CACHE_TTL_MS' | 'LLM_TEMPERATURE' | 'OPENAI_BASE_URL' | 'REDIS_URL'>,
  roles: Pick<Roles, 'api' | 'agent'>,
): ConfigError | undefined {
  // The cache takes answers asked at temperature 0 only (cachesResponses).
  const cachesErasable =
    c.MCP_PAYLOAD_POLICY === 'encrypted' && c.LLM_REDACTION === 'hash-only' && (c.LLM_CACHE_TTL_MS ?? 0) > 0 && (c.LLM_TEMPERATURE ?? 0) === 0 && c.OPENAI_BASE_URL !== undefined;
  if (!cachesErasable || c.REDIS_URL || roles.api === roles.agent) return undefined;
  const why = roles.agent
    ? 'this process runs agent without api, so no erasure (DELETE /v1/subjects/:subject/key, made by an api process) can take a subject\'s answers out of its memory'
    : 'this process runs api without agent, so an erasure it makes cannot take a subject\'s answers out of the agent processes\' memory, yet would answer 204';
  return new ConfigError(
    `Invalid configuration: MCP_PAYLOAD_POLICY=encrypted with LLM_REDACTION=hash-only and LLM_CACHE_TTL_MS=${c.LLM_CACHE_TTL_MS} keeps the model's answers in the LLM response cache, which without REDIS_URL is each process's own memory; ${why}: set REDIS_URL (the cache every process shares), or unset LLM_CACHE_TTL_MS (docs/security.md, "Personal data", "What erasure leaves, and what it does not break")`,
    { variable: 'REDIS_URL' },
  );
}
