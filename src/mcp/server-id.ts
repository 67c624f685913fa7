import { v5 } from 'uuid';

/** The namespace of MCP server ids (a fixed random UUID: changing it would re-open taken names). */
const SERVER_ID_NAMESPACE = '06ec89ad-e36c-4b21-aa57-fadff4caea6f';

/**
 * The id of the `generation`-th server a tenant registers under `name` (a UUIDv5), so its stream
 * `mcpserver-<id>` is the name's claim: registering appends to it with `no_stream`, and of two
 * registrations at once (two processes starting together) the event store lets one through.
 * Generation n + 1 is taken only once server n is removed, so a name has at most one live server.
 * Requires a registry name (`[a-z][a-z0-9-]*`) and a generation >= 0.
 *
 * @example
 * serverIdFor('acme', 'files', 0); // the same id in every process
 */
export function serverIdFor(tenant: string, name: string, generation: number): string {
  return v5(JSON.stringify([tenant, name, generation]), SERVER_ID_NAMESPACE);
}
