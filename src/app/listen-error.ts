import { ConfigError } from '../core/errors';

/**
 * The error of the API's listen on HOST:PORT said plainly, as a setting to fix, not as a stack
 * trace: the port held by another gateway (or anything else), a privileged port, a HOST that is
 * no address of this machine. Undefined for any other error (the caller rethrows it).
 * @example listenConfigError(err, { HOST: '127.0.0.1', PORT: 8080 })?.message // 'PORT: 127.0.0.1:8080 is already in use: …'
 */
export function listenConfigError(err: NodeJS.ErrnoException, config: { HOST: string; PORT: number }): ConfigError | undefined {
  const { HOST, PORT } = config;
  if (err.code === 'EADDRINUSE') return new ConfigError(`PORT: ${HOST}:${PORT} is already in use: set PORT (or HOST) to a free address`, { variable: 'PORT' });
  if (err.code === 'EACCES') return new ConfigError(`PORT: ${HOST}:${PORT} needs privileges this process lacks: set PORT above 1023`, { variable: 'PORT' });
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' || err.code === 'EADDRNOTAVAIL') {
    return new ConfigError(`HOST: ${HOST} is not an address of this machine (${err.code}): set HOST to one of its addresses, e.g. 127.0.0.1, or 0.0.0.0 for all of them`, { variable: 'HOST' });
  }
  return undefined;
}
