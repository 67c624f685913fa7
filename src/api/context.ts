import type { FastifyRequest } from 'fastify';
import type { CommandMetadata } from '../domain/handle-command';
import type { Principal } from '../auth/principal';
import type { Permission } from '../auth/roles';
import { UnauthenticatedError } from './errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a route needs; routes without one are public (health, metrics, docs). */
    permission?: Permission;
    /**
     * The route answers 200 with a server-sent event stream that lasts as long as its client's
     * session: its 200s are left out of `openmcp_http_request_duration_seconds` (their duration is no
     * latency), its other answers (401, 404, 503) are observed as any request's.
     */
    eventStream?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new UnauthenticatedError();
  return request.principal;
}

/** Command metadata of a request: the caller's tenant and actor, the request id as correlation id. */
export function metadataOf(request: FastifyRequest): CommandMetadata {
  const p = principalOf(request);
  return { tenant: p.tenant, actor: p.actor, correlationId: String(request.id) };
}
