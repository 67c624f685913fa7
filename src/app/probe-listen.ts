import { createServer, type Server } from 'node:net';

export type ListenAddress = { host: string; port: number };
export type ProbeListenReturnType = { address: ListenAddress; error: NodeJS.ErrnoException } | undefined;

/**
 * Whether this process could listen on each address now: binds them in turn as a server's listen
 * does (`{ host, port }`, the host looked up the same way), holding the earlier ones so that two
 * of them on one port clash as the real listens would, then closes them all. Returns the first
 * address that could not be bound, with its error (EADDRINUSE, EACCES, ENOTFOUND…).
 *
 * Only a first check, so that a start refuses a taken port before it makes anything: another
 * process may take the port right after, and the real listen's errors still need handling.
 * Port 0 (any free port) is skipped: there is nothing to check.
 * @example await probeListen([{ host: '127.0.0.1', port: 8080 }]) // undefined when it is free
 */
export async function probeListen(addresses: readonly ListenAddress[]): Promise<ProbeListenReturnType> {
  const bound: Server[] = [];
  try {
    for (const address of addresses) {
      if (address.port === 0) continue;
      const server = createServer();
      const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
        server.once('error', resolve);
        server.listen({ host: address.host, port: address.port }, () => resolve(undefined));
      });
      if (error) return { address, error };
      bound.push(server);
    }
    return undefined;
  } finally {
    await Promise.all(bound.map((s) => new Promise((r) => s.close(r))));
  }
}
