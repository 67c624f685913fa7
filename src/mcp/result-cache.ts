import type { PayloadPolicy } from './audit';

/** How long the gateway caches a read-only idempotent tool's result when nothing says otherwise (MCP_PAYLOAD_POLICY=store). */
export const MCP_CACHE_DEFAULT_TTL_MS = 5_000;

/**
 * How long the gateway's result cache keeps a read-only idempotent tool's result; 0 = the cache
 * is off (neither read nor written). `cacheTtlMs` (MCP_CACHE_TTL_MS) when the operator set it;
 * else 5 s, or 0 under MCP_PAYLOAD_POLICY=hash-only or encrypted: the cache holds each result whole, and an
 * operator who asked that no tool payload be kept expects none in Redis either. Setting
 * MCP_CACHE_TTL_MS under hash-only is the operator's explicit choice.
 *
 * @example resultCacheTtlMs({ payloadPolicy: 'hash-only' }) // 0
 * @example resultCacheTtlMs({ payloadPolicy: 'hash-only', cacheTtlMs: 60_000 }) // 60000
 */
export function resultCacheTtlMs(o: { payloadPolicy?: PayloadPolicy; cacheTtlMs?: number }): number {
  return o.cacheTtlMs ?? ((o.payloadPolicy ?? 'store') === 'store' ? MCP_CACHE_DEFAULT_TTL_MS : 0);
}

/**
 * Where the result of a read-only idempotent tool's call is cached: per tenant (on a shared
 * server, a hit would tell one tenant what another asked a moment ago), server, tool and the
 * SHA-256 of the arguments' canonical JSON.
 *
 * @example resultCacheKey('acme', 'srv-1', 'count', '0xab…') // 'mcp:result:acme:srv-1:count:0xab…'
 */
export function resultCacheKey(tenant: string, serverId: string, upstreamName: string, argumentsHash: string): string {
  return `mcp:result:${tenant}:${serverId}:${upstreamName}:${argumentsHash}`;
}
