import { join } from 'node:path';
import type { Registry } from 'prom-client';
import type { Cache } from '../cache/port';
import type { Config } from '../config';
import type { EventStore } from '../eventstore/port';
import type { SubjectKeyStore } from '../erasure/subject-key-store';
import { egressRulesFrom, type EgressRules } from '../mcp/egress-rules';
import { McpGateway, type McpGatewayOptions } from '../mcp/gateway';
import type { McpGatewayPluginOptions } from '../mcp/gateway-plugin';
import { isLoopbackName, listSetting, type OriginPolicy } from '../mcp/origin-policy';
import { loadLocalEmbedder } from '../search/embedder';
import { ToolSearch } from '../search/tool-search';

type GatewaySettings = Pick<
  Config,
  'dataDir' | 'EMBEDDING_MODEL_DIR' | 'EMBEDDING_MODEL_ID' | 'MCP_PAYLOAD_POLICY' | 'MCP_CACHE_TTL_MS' | 'MCP_CALL_TIMEOUT_MS' | 'MCP_CONNECT_TIMEOUT_MS' | 'MCP_MAX_CONCURRENT' | 'MCP_HEALTH_INTERVAL_MS' | 'MCP_TOOLS_PAGE_SIZE' | 'MCP_MAX_SERVERS_PER_TENANT' | 'MCP_EGRESS_ALLOWED_HOSTS' | 'MCP_EGRESS_DENIED_NETWORKS'
>;

/**
 * The gateway's audit, cache and upstream settings from the configuration (MCP_*). `cacheTtlMs`
 * stays unset when MCP_CACHE_TTL_MS is: the gateway then picks it by payload policy (resultCacheTtlMs).
 */
export function gatewayOptionsFrom(config: GatewaySettings): Pick<McpGatewayOptions, 'payloadPolicy' | 'cacheTtlMs' | 'upstream' | 'toolsPageSize' | 'maxServersPerTenant'> {
  return {
    payloadPolicy: config.MCP_PAYLOAD_POLICY,
    toolsPageSize: config.MCP_TOOLS_PAGE_SIZE,
    maxServersPerTenant: config.MCP_MAX_SERVERS_PER_TENANT,
    cacheTtlMs: config.MCP_CACHE_TTL_MS,
    upstream: {
      callTimeoutMs: config.MCP_CALL_TIMEOUT_MS,
      connectTimeoutMs: config.MCP_CONNECT_TIMEOUT_MS,
      connectTimeoutSetting: 'MCP_CONNECT_TIMEOUT_MS',
      maxConcurrent: config.MCP_MAX_CONCURRENT,
      healthIntervalMs: config.MCP_HEALTH_INTERVAL_MS,
      ...egressOptionOf(config),
    },
  };
}

/**
 * The host operator's limits on servers that tenants register (MCP_EGRESS_ALLOWED_HOSTS,
 * MCP_EGRESS_DENIED_NETWORKS) as egress rules, or none when neither is set: the gateway checks
 * them at each connection, POST /v1/mcp-servers at registration.
 * @example egressRulesOf(loadConfig({ MCP_EGRESS_ALLOWED_HOSTS: 'mcp.example.com' })) // { allowedHosts: ['mcp.example.com'] }
 */
export function egressRulesOf(config: Pick<Config, 'MCP_EGRESS_ALLOWED_HOSTS' | 'MCP_EGRESS_DENIED_NETWORKS'>): EgressRules | undefined {
  const rules = egressRulesFrom({ allowedHosts: config.MCP_EGRESS_ALLOWED_HOSTS, deniedNetworks: config.MCP_EGRESS_DENIED_NETWORKS });
  return rules.allowedHosts || rules.deniedNetworks ? rules : undefined;
}

function egressOptionOf(config: Pick<Config, 'MCP_EGRESS_ALLOWED_HOSTS' | 'MCP_EGRESS_DENIED_NETWORKS'>): { egress?: EgressRules } {
  const egress = egressRulesOf(config);
  return egress ? { egress } : {};
}

/**
 * Which browser origins may call /mcp, under which Host names (MCP_ALLOWED_ORIGINS,
 * MCP_ALLOWED_HOSTS): listening on loopback (HOST localhost or a loopback address), only to
 * loopback names unless MCP_ALLOWED_HOSTS names more.
 * @example mcpOriginPolicyFrom(loadConfig({})) // { loopback: true, allowedOrigins: undefined, allowedHosts: undefined }
 */
export function mcpOriginPolicyFrom(config: Pick<Config, 'HOST' | 'MCP_ALLOWED_ORIGINS' | 'MCP_ALLOWED_HOSTS'>): OriginPolicy {
  return { loopback: isLoopbackName(config.HOST), allowedOrigins: listSetting(config.MCP_ALLOWED_ORIGINS), allowedHosts: listSetting(config.MCP_ALLOWED_HOSTS) };
}

/**
 * How many /mcp sessions a replica keeps for one tenant (MCP_MAX_SESSIONS_PER_TENANT).
 * @example mcpSessionLimitsFrom(loadConfig({})) // { maxSessionsPerTenant: 1000 }
 */
export function mcpSessionLimitsFrom(config: Pick<Config, 'MCP_MAX_SESSIONS_PER_TENANT'>): Pick<McpGatewayPluginOptions, 'maxSessionsPerTenant'> {
  return { maxSessionsPerTenant: config.MCP_MAX_SESSIONS_PER_TENANT };
}

/**
 * The MCP gateway as `openmcp start` and `openmcp mcp stdio` run it: tool search hybrid with the
 * local model of EMBEDDING_MODEL_DIR (lexical-only without one, as /readyz says), the MCP_*
 * settings, the given store and cache, its metrics on `registry` (when given). Not started.
 */
export async function createGateway(p: {
  config: GatewaySettings;
  store: EventStore;
  cache: Cache;
  logger?: McpGatewayOptions['logger'];
  registry?: Registry;
  /** The subjects' data keys (needed under MCP_PAYLOAD_POLICY=encrypted). */
  subjectKeys?: SubjectKeyStore;
}): Promise<McpGateway> {
  const { config } = p;
  // Unset, the cache is off under hash-only; set, it is the operator's choice, said once so it is not a surprise.
  if (config.MCP_PAYLOAD_POLICY !== 'store' && config.MCP_CACHE_TTL_MS) {
    p.logger?.warn(
      { mcpCacheTtlMs: config.MCP_CACHE_TTL_MS },
      `MCP_PAYLOAD_POLICY=${config.MCP_PAYLOAD_POLICY} with MCP_CACHE_TTL_MS=${config.MCP_CACHE_TTL_MS}: the MCP result cache keeps each result of a read-only idempotent tool whole for that long (cache: ${p.cache.name}), outside the log; unset MCP_CACHE_TTL_MS (or set 0) to keep none`,
    );
  }
  const embedder = config.EMBEDDING_MODEL_DIR ? await loadLocalEmbedder(config.EMBEDDING_MODEL_DIR, config.EMBEDDING_MODEL_ID) : undefined;
  const search = embedder
    ? new ToolSearch({ embedder, indexPath: join(config.dataDir, 'search', 'tools.usearch'), logger: p.logger })
    : ToolSearch.lexicalOnly('EMBEDDING_MODEL_DIR is not set');
  // Said once at start, as /readyz says it (the embedded default's tool search is lexical only).
  p.logger?.info?.(
    embedder ? { model: embedder.model, dimensions: embedder.dimensions, modelDir: config.EMBEDDING_MODEL_DIR } : {},
    embedder ? 'tool search: hybrid (BM25 + embeddings of the local model)' : 'tool search: lexical only (BM25): EMBEDDING_MODEL_DIR is not set',
  );
  return new McpGateway({ store: p.store, cache: p.cache, search, logger: p.logger, registry: p.registry, subjectKeys: p.subjectKeys, ...gatewayOptionsFrom(config) });
}
