import type { FastifyRequest } from 'fastify';
import type { CommandMetadata } from '../domain/handle-command';
import type { Principal } from '../auth/principal';
import type { Permission } from '../auth/roles';
import { UnauthenticatedError } from './errors';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The permission a route needs; routes without one are public (health, metrics, docs). */
    permission?: Permission;
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
