import type { Config } from '../config';
import type { Actor } from '../core/envelope';
import { examplesServer, registerExamples } from '../mcp/examples-server';
import { serversFileSource } from '../mcp/config-source';
import type { McpGateway } from '../mcp/gateway';
import { readServersFile } from '../mcp/servers-file';
import { SHARED_TENANT } from '../mcp/types';

/** The start-up registrations of a process, as they run in the background. */
export type StartupRegistrations = {
  /** Settles once every registration has; rejects with the first that failed (the others run on). */
  all: Promise<void>;
  /** Resolves once every registration has settled, failed or not. */
  settled: Promise<void>;
  /** How many servers the configuration registers at this start. */
  count: number;
  /** The servers still registering, by name (`tenant/name` for a tenant's own). */
  inFlight(): string[];
  /** The registrations that failed so far, with their errors. */
  failed(): { server: string; err: unknown }[];
};

/**
 * Register `examples` and MCP_SERVERS_FILE's servers in the background, for every process that
 * serves tools (`openmcp start` with a role that connects upstreams, `openmcp mcp stdio`): each
 * waits for its upstream's connection (up to the connect timeout, MCP_CONNECT_TIMEOUT_MS), and a process that waited
 * for them before answering kept its clients (an MCP host, a load balancer's probes) waiting as
 * long. Meanwhile tools/list answers from the catalog (a server registered before lists the tools
 * last discovered, and a call to it waits for its registration: McpGateway.ensureServer); only a
 * server the catalog does not know yet (the first start) holds tools/list and tool search back
 * until its first discovery, for LISTING_HOLD_MS (3 s) at most, so that a first listing is not
 * empty, and calls of tools not in the catalog until its registration settles (McpGateway.holdListing).
 * The file is read before anything is started: an entry it refuses
 * throws at once, as before. `onFailure` is told of each registration that fails, as it fails.
 * McpGateway.close() waits for the registrations in flight and starts nothing after.
 * Requires `gateway.start()` first (the catalog has read the registry).
 * @example const r = registerAtStart(gateway, config, { kind: 'system', id: 'openmcp' }); await r.settled;
 */
export function registerAtStart(
  gateway: McpGateway,
  config: Pick<Config, 'MCP_SERVERS_FILE' | 'OPENMCP_EXAMPLES'>,
  actor: Actor,
  options: { logger?: { info(msg: string): void }; onFailure?: (server: string, err: unknown) => void } = {},
): StartupRegistrations {
  const disabled: { tenant: string; name: string; at: string }[] = [];
  const fromFile = config.MCP_SERVERS_FILE ? readServersFile(config.MCP_SERVERS_FILE, actor, (d) => disabled.push(d)) : [];
  const registered = (tenant: string, name: string) => gateway.listServers(tenant, { sharedDetails: true }).find((s) => s.tenant === tenant && s.name === name);
  // Known with its tools: registered and discovered. One registered a moment ago by another process
  // starting beside this one, its tools not discovered yet, holds calls of unknown tools as a new one.
  const known = (tenant: string, name: string) => (registered(tenant, name)?.toolCount ?? 0) > 0;
  const label = (tenant: string, name: string) => (tenant === SHARED_TENANT ? name : `${tenant}/${name}`);
  // A list, not a set: a file entry named `examples` registers after the bundled one, under the same name.
  const running: string[] = [];
  const failures: { server: string; err: unknown }[] = [];
  const done = (server: string) => running.splice(running.indexOf(server), 1);
  const track = (server: string, registration: Promise<unknown>, isNew: boolean): Promise<unknown> => {
    running.push(server);
    if (isNew) gateway.holdListing(registration);
    void registration.then(
      () => done(server),
      (err: unknown) => {
        done(server);
        failures.push({ server, err });
        options.onFailure?.(server, err);
      },
    );
    return registration;
  };
  // A disabled entry is not registered, and not removed either (as an entry deleted from the file):
  // one an earlier start registered (the release before this one started disabled entries) runs on, so it is named.
  for (const d of disabled) {
    const s = registered(d.tenant, d.name);
    if (!s) continue;
    options.logger?.info(
      `MCP_SERVERS_FILE: ${d.at} is disabled, but ${label(d.tenant, d.name)} stays registered by an earlier start (connected, its tools served): remove it (npx openmcp mcp servers remove ${d.name}, DELETE /v1/mcp-servers/${s.id})`,
    );
  }
  const examples = examplesServer(actor);
  // Started in this order, each queued behind the one before for the same name (ensureServer):
  // a file entry named `examples` still reconfigures the bundled one, as when they ran in turn.
  const registrations = [
    ...(config.OPENMCP_EXAMPLES === 'off'
      ? []
      : [track(label(examples.tenant, examples.name), registerExamples(gateway, config.OPENMCP_EXAMPLES, actor, options.logger), !known(examples.tenant, examples.name))]),
    ...fromFile.map((p) => track(label(p.tenant, p.name), gateway.ensureServer(p, serversFileSource(p.name)), !known(p.tenant, p.name))),
  ];
  const all = Promise.all(registrations).then(() => undefined);
  // Handled here too: a caller that follows each failure (onFailure) need not await it.
  all.catch(() => {});
  return {
    all,
    settled: Promise.allSettled(registrations).then(() => undefined),
    count: registrations.length,
    inFlight: () => [...new Set(running)],
    failed: () => [...failures],
  };
}
