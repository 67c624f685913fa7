import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Wallet } from 'ethers';
import { ConfigError, UnavailableError } from '../core/errors';
import type { Hex } from '../core/hex';
import { deployAuditAnchor } from './audit-anchor';
import { HARDHAT_ACCOUNT_KEYS, hardhatAccountsConfig } from './hardhat-accounts';
import { createRpcProvider } from './provider';

/** Hardhat's well-known account #0 (mnemonic "test test … junk"): a demo key, never for real funds. */
export const HARDHAT_ACCOUNT_0_KEY: Hex = HARDHAT_ACCOUNT_KEYS[0];

export type StartLocalChainParameters = {
  /** 127.0.0.1 port (CHAIN_PORT); 0 picks a free one. */
  port: number;
  /** Hardhat's config, cache and home-directory files go under `<dataDir>/chain`. */
  dataDir: string;
  /** Give up if the node does not answer within this time (it takes 2–10 s on a slow machine). */
  startTimeoutMs?: number;
  log?: (line: string) => void;
  /**
   * The node's own output until it listens (a failure's cause, e.g. EADDRINUSE with its stack
   * trace): the error it fails with already says what to do, or quotes the output's end.
   */
  debug?: (line: string) => void;
};

export type LocalChain = {
  rpcUrl: string;
  chainId: number;
  contractAddress: Hex;
  /** Deploys and anchors; Hardhat account #0. */
  anchorerPrivateKey: Hex;
  deployTxHash: Hex;
  deployGasUsed: number;
  pid: number;
  stop(): Promise<void>;
};

/** Where the embedded chain listens, on CHAIN_PORT. */
export const LOCAL_CHAIN_HOST = '127.0.0.1';

/**
 * CHAIN_PORT held by something else (another chain node, a second gateway): the usual first-run clash.
 * @example chainPortInUse(8545).message // 'CHAIN_PORT: 127.0.0.1:8545 is already in use: …'
 */
export function chainPortInUse(port: number): ConfigError {
  return new ConfigError(
    `CHAIN_PORT: ${LOCAL_CHAIN_HOST}:${port} is already in use: set CHAIN_PORT to a free port for the embedded chain, or CHAIN_RPC_URL (with ANCHOR_CONTRACT) to anchor on a chain of your own`,
    { variable: 'CHAIN_PORT' },
  );
}

/**
 * Hardhat's command-line entry, which the embedded chain runs. Hardhat is a development dependency:
 * a production install (`npm ci --omit=dev`, the infra/ image) has none, and anchors on a chain of
 * its own (CHAIN_RPC_URL); there the start refuses without CHAIN_RPC_URL, before it makes anything.
 * @example hardhatBootstrap() // '/app/node_modules/hardhat/internal/cli/bootstrap.js'
 */
export function hardhatBootstrap(resolvePackage: () => string = () => require.resolve('hardhat/package.json')): string {
  let packageJson: string;
  try {
    packageJson = resolvePackage();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
    throw new ConfigError(
      'Invalid configuration: CHAIN_RPC_URL is not set, and the embedded chain cannot start: it runs Hardhat, a development dependency this install left out (npm ci --omit=dev, the infra/ image). ' +
        'Set CHAIN_RPC_URL and ANCHOR_CONTRACT to anchor on a chain of your own (deploy with `openmcp contracts deploy --rpc URL`; docs/configuration.md), or install the development dependencies too (npm ci) for the demo chain',
      { variable: 'CHAIN_RPC_URL' },
    );
  }
  return resolve(dirname(packageJson), 'internal/cli/bootstrap.js');
}
const PROJECT_ROOT = resolve(__dirname, '../..');
/** Makes the node exit when this process is gone (see the file). */
const EXIT_WITH_PARENT = resolve(__dirname, 'exit-with-parent.cjs');

/**
 * The embedded demo chain: a Hardhat node on 127.0.0.1:`port` (a direct child process, so
 * stop() really ends it), with AuditAnchor deployed by account #0, which is also the anchorer.
 *
 * The node keeps its state in memory: every start is a new chain with a new genesis hash, and
 * AuditAnchor is deployed fresh. The anchorer notices (its anchor stream is keyed by genesis
 * hash) and anchors every sealed batch again, in order, onto the new contract.
 */
export async function startLocalChain(p: StartLocalChainParameters): Promise<LocalChain> {
  const bootstrap = hardhatBootstrap();
  const home = join(p.dataDir, 'chain');
  mkdirSync(home, { recursive: true });
  // A plain JS config: the node needs no compiler and no TypeScript loader. Hardhat's default
  // accounts are listed, not derived from the mnemonic at every start (see hardhat-accounts.ts).
  const configFile = join(home, 'hardhat.config.js');
  const hardhat = { chainId: 31337, hardfork: 'cancun', accounts: hardhatAccountsConfig() };
  writeFileSync(configFile, `module.exports = ${JSON.stringify({ networks: { hardhat } }, null, 2)};\n`);
  const child = spawn(
    process.execPath,
    ['--require', EXIT_WITH_PARENT, bootstrap, 'node', '--config', configFile, '--hostname', LOCAL_CHAIN_HOST, '--port', String(p.port)],
    {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        XDG_CACHE_HOME: home,
        XDG_CONFIG_HOME: home,
        XDG_DATA_HOME: home,
        HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a Ctrl-C at the terminal reaches the gateway, which drains (the
      // anchorer may still be writing to the chain) and then stops the node itself.
      detached: true,
    },
  );
  // Whatever way this process exits, the node goes with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.removeListener('exit', killOnExit));
  const stop = () => stopChild(child);
  try {
    const rpcUrl = await waitForListening(child, p.port, p.startTimeoutMs ?? 30_000, p);
    const provider = createRpcProvider(rpcUrl);
    const wallet = new Wallet(HARDHAT_ACCOUNT_0_KEY, provider);
    const deployed = await deployAuditAnchor(wallet);
    provider.destroy();
    p.log?.(`local chain ${rpcUrl} (chain id ${deployed.chainId}): AuditAnchor at ${deployed.address}`);
    return {
      rpcUrl,
      chainId: deployed.chainId,
      contractAddress: deployed.address,
      anchorerPrivateKey: HARDHAT_ACCOUNT_0_KEY,
      deployTxHash: deployed.txHash,
      deployGasUsed: deployed.gasUsed,
      pid: child.pid!,
      stop,
    };
  } catch (err) {
    await stop();
    throw err instanceof UnavailableError || err instanceof ConfigError ? err : new UnavailableError('chain', `local Hardhat node failed: ${(err as Error).message}`, err);
  }
}

function waitForListening(child: ChildProcess, port: number, timeoutMs: number, logs: Pick<StartLocalChainParameters, 'log' | 'debug'>): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    let out = '';
    let listening = false;
    const timer = setTimeout(() => fail(new UnavailableError('chain', `local Hardhat node did not start within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = out.match(/JSON-RPC server at (http:\/\/[^\s/]+)\/?/);
      if (m) {
        clearTimeout(timer);
        listening = true;
        child.stdout!.off('data', onData);
        // Keep draining its output (it logs every call) so the pipe never fills and blocks it.
        child.stdout!.resume();
        resolvePromise(m[1]);
      }
    };
    const fail = (err: Error) => {
      clearTimeout(timer);
      reject(err);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => {
      out += c.toString();
      // Before it listens, its output is a failure's cause (debug): the error says it plainly, or quotes it.
      (listening ? logs.log : logs.debug)?.(`hardhat: ${c.toString().trim()}`);
    });
    child.once('exit', (code) =>
      fail(
        // Taken after the start's first check of it (probeListen): its stack trace would bury that.
        /EADDRINUSE/.test(out)
          ? chainPortInUse(port)
          : new UnavailableError('chain', `local Hardhat node exited (code ${code}): ${out.slice(-500)}`),
      ),
    );
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((r) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(force);
      r();
    });
    child.kill('SIGTERM');
  });
}
