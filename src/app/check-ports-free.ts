import type { Config } from '../config';
import { ConfigError } from '../core/errors';
import { chainPortInUse, LOCAL_CHAIN_HOST } from '../web3/local-chain';
import { listenConfigError } from './listen-error';
import { probeListen, type ListenAddress } from './probe-listen';

export type CheckPortsFreeParameters = {
  /** Whether this start listens on HOST:PORT (false: tests that only build the app). */
  listen: boolean;
};

/**
 * Refuses, before a start makes anything (database, bootstrap key, chain), a port it would listen
 * on that something else holds already: the embedded chain's CHAIN_PORT (without CHAIN_RPC_URL),
 * then HOST:PORT, in the order the start listens on them (the same port for both clashes as it
 * would). Throws the ConfigError the listen itself would end in (CONFIG_INVALID naming PORT, HOST
 * or CHAIN_PORT; both, when both are taken); an error it cannot name is left for the real listen
 * to meet and report.
 * Every process listens on PORT (its probes and metrics, whatever its roles).
 * @example await checkPortsFree(config, { listen: true }) // throws 'PORT: 127.0.0.1:8080 is already in use: …'
 */
export async function checkPortsFree(config: Pick<Config, 'HOST' | 'PORT' | 'CHAIN_PORT' | 'CHAIN_RPC_URL'>, p: CheckPortsFreeParameters): Promise<void> {
  const chain: ListenAddress | undefined = config.CHAIN_RPC_URL ? undefined : { host: LOCAL_CHAIN_HOST, port: config.CHAIN_PORT };
  const api: ListenAddress | undefined = p.listen ? { host: config.HOST, port: config.PORT } : undefined;
  const refused = await probeListen([chain, api].filter((a) => a !== undefined));
  if (!refused) return;
  if (refused.address === chain) {
    if (refused.error.code !== 'EADDRINUSE') return;
    // Both taken is the usual second `npm start` beside a running one: name both at once, so that
    // one retry with two free ports works (not CHAIN_PORT now and PORT on the next try).
    const apiToo = api && api.port !== chain.port ? await probeListen([api]) : undefined;
    if (apiToo?.error.code === 'EADDRINUSE') throw bothPortsInUse(config);
    throw chainPortInUse(config.CHAIN_PORT);
  }
  const err = listenConfigError(refused.error, config);
  if (err) throw err;
}

/**
 * CHAIN_PORT and HOST:PORT both held already: most often by a gateway running already.
 * @example bothPortsInUse({ HOST: '127.0.0.1', PORT: 8080, CHAIN_PORT: 8545 }).message // 'CHAIN_PORT: 127.0.0.1:8545 and PORT: 127.0.0.1:8080 are already in use …'
 */
function bothPortsInUse(config: Pick<Config, 'HOST' | 'PORT' | 'CHAIN_PORT'>): ConfigError {
  return new ConfigError(
    `CHAIN_PORT: ${LOCAL_CHAIN_HOST}:${config.CHAIN_PORT} and PORT: ${config.HOST}:${config.PORT} are already in use (a gateway running already?): set both to free ports, e.g. PORT=18080 CHAIN_PORT=18545`,
    { variable: 'CHAIN_PORT', variables: ['CHAIN_PORT', 'PORT'] },
  );
}
