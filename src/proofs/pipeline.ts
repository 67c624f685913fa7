import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Wallet, isKeystoreJson, parseUnits } from 'ethers';
import type { Config } from '../config';
import { ConfigError } from '../core/errors';
import type { RecordedEvent } from '../core/envelope';
import type { Hex } from '../core/hex';
import type { EventStore } from '../eventstore/port';
import { startLocalChain, type LocalChain } from '../web3/local-chain';
import { createAnchorer, startAnchorer, type Anchorer, type AnchorerFunds } from './anchorer';
import { BatchLog } from './batch-log';
import type { ProofQueryDependencies } from './batches';
import { signerAddress } from './batch-head';
import { startSealer } from './sealer';
import { loadOrCreateSealerKey } from './sealer-key';
import { assertToken, fencedEventStore, startLeadership, type Leadership, type LeaseStore } from '../leader';

export type AuditPipeline = {
  /** The anchorer this process's queries use (started only where the anchorer role runs unleased; without that role it has no key and only reads). */
  anchorer: Anchorer;
  /** The embedded chain, when CHAIN_RPC_URL is not set. */
  chain?: LocalChain;
  rpcUrl: string;
  contractAddress: string;
  /** Address of the key that signs batch heads, where the sealer role runs: what auditors pin (`openmcp verify --signer`). */
  sealerAddress?: Hex;
  /** Pass to listBatches / getBatch / getBatchEvents / buildProof. */
  queries: ProofQueryDependencies;
  /** With leases: the campaign of each role this process runs (for /readyz: leader or standby). */
  leaderships: { role: 'sealer' | 'anchorer'; leadership: Leadership }[];
  /** The anchorer account's balance and last anchor cost, as the anchorer running here (the leader's, with leases) last read them; undefined before its first anchor, or without one running. */
  funds(): AnchorerFunds | undefined;
  stop(): Promise<void>;
};

export type StartAuditPipelineParameters = {
  store: EventStore;
  config: Pick<
    Config,
    | 'dataDir' | 'CHAIN_RPC_URL' | 'CHAIN_ID' | 'CHAIN_PORT' | 'ANCHOR_CONTRACT' | 'ANCHORER_PRIVATE_KEY' | 'ANCHORER_KEYSTORE'
    | 'ANCHORER_KEYSTORE_PASSWORD' | 'CHAIN_CONFIRMATIONS' | 'ANCHOR_MAX_FEE_GWEI' | 'SEALER_PRIVATE_KEY' | 'BATCH_MAX_EVENTS' | 'BATCH_MAX_SECONDS'
  >;
  findEvent: (id: string) => Promise<RecordedEvent | undefined>;
  log?: (line: string) => void;
  /** Detail for a failure's diagnosis: the embedded chain node's output before it listens. */
  debug?: (line: string) => void;
  onError?: (role: 'sealer' | 'anchorer', err: unknown) => void;
  /** Which roles run here (a separate process may run the others). Default both. */
  roles?: { sealer?: boolean; anchorer?: boolean };
  /**
   * Elect one sealer and one anchorer among all processes through these leases (fenced writes);
   * without it the roles run unconditionally, which is right for a single process.
   */
  leases?: LeaseStore;
  leaseTtlMs?: number;
  /** The anchorer's key as readAnchorerKey gave it (`openmcp start` reads it before it makes anything); without it, read here. */
  anchorerKey?: Hex;
};

/**
 * What the chain settings lack for the pipeline to start, or undefined: with CHAIN_RPC_URL, the
 * AuditAnchor's address (every role) and, where the anchorer role runs, its key (an
 * ANCHORER_KEYSTORE that can be read and is a keystore: readAnchorerKey decrypts it). No
 * network, so `openmcp start` asks it before it makes anything (the database, a bootstrap key).
 * @example chainSettingsError({ CHAIN_RPC_URL: 'http://chain:8545' }, { anchorer: false })?.details // { variable: 'ANCHOR_CONTRACT' }
 */
export function chainSettingsError(
  c: Pick<Config, 'CHAIN_RPC_URL' | 'ANCHOR_CONTRACT' | 'ANCHORER_PRIVATE_KEY' | 'ANCHORER_KEYSTORE'>,
  roles: { anchorer?: boolean },
): ConfigError | undefined {
  if (!c.CHAIN_RPC_URL) return undefined;
  if (!c.ANCHOR_CONTRACT) {
    // A setting to fix, not a bug: one line naming it (infra/: the first `up` before contracts-deploy).
    return new ConfigError(
      'Invalid configuration: CHAIN_RPC_URL is set but ANCHOR_CONTRACT is not: deploy AuditAnchor first with `openmcp contracts deploy --rpc <CHAIN_RPC_URL>` (infra/: `docker compose run --rm contracts-deploy`) and set ANCHOR_CONTRACT to the address it prints',
      { variable: 'ANCHOR_CONTRACT' },
    );
  }
  if (roles.anchorer && !c.ANCHORER_PRIVATE_KEY && !c.ANCHORER_KEYSTORE) {
    return new ConfigError(
      'Invalid configuration: the anchorer role with CHAIN_RPC_URL needs ANCHORER_PRIVATE_KEY or ANCHORER_KEYSTORE (the key that signs anchor transactions; processes without the anchorer role need neither)',
      { variable: 'ANCHORER_PRIVATE_KEY' },
    );
  }
  if (roles.anchorer && !c.ANCHORER_PRIVATE_KEY && c.ANCHORER_KEYSTORE) return keystoreFileError(c.ANCHORER_KEYSTORE);
  return undefined;
}

/** Why ANCHORER_KEYSTORE cannot be the anchorer's keystore before it is decrypted, or undefined. */
function keystoreFileError(path: string): ConfigError | undefined {
  let json: string;
  try {
    json = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return new ConfigError(`Invalid configuration: ANCHORER_KEYSTORE=${path}: cannot read it (${e.code ?? e.message})`, { variable: 'ANCHORER_KEYSTORE' });
  }
  if (!isKeystoreJson(json)) return new ConfigError(`Invalid configuration: ANCHORER_KEYSTORE=${path}: not an encrypted JSON keystore`, { variable: 'ANCHORER_KEYSTORE' });
  return undefined;
}

/**
 * The key that signs anchor transactions, with CHAIN_RPC_URL: ANCHORER_PRIVATE_KEY, or
 * ANCHORER_KEYSTORE decrypted with ANCHORER_KEYSTORE_PASSWORD (slow: scrypt), else a ConfigError
 * naming the variable, never the password. Read only where the anchorer role runs (no other
 * process needs to hold it); `openmcp start` reads it before it makes anything and hands it to
 * startAuditPipeline, so a wrong password leaves no database or bootstrap key behind.
 * @example await readAnchorerKey({ CHAIN_RPC_URL: 'http://chain:8545', ANCHOR_CONTRACT: '0x…', ANCHORER_KEYSTORE: '/run/secrets/anchorer.json', ANCHORER_KEYSTORE_PASSWORD: '…' }) // '0x…'
 */
export async function readAnchorerKey(
  c: Pick<Config, 'CHAIN_RPC_URL' | 'ANCHOR_CONTRACT' | 'ANCHORER_PRIVATE_KEY' | 'ANCHORER_KEYSTORE' | 'ANCHORER_KEYSTORE_PASSWORD'>,
): Promise<Hex> {
  if (c.ANCHORER_PRIVATE_KEY) return c.ANCHORER_PRIVATE_KEY as Hex;
  const missing = chainSettingsError(c, { anchorer: true });
  if (missing || !c.ANCHORER_KEYSTORE) throw missing;
  const path = c.ANCHORER_KEYSTORE;
  const json = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ConfigError(`Invalid configuration: ANCHORER_KEYSTORE=${path}: cannot read it (${err.code ?? err.message})`, { variable: 'ANCHORER_KEYSTORE' });
  });
  if (!isKeystoreJson(json)) throw new ConfigError(`Invalid configuration: ANCHORER_KEYSTORE=${path}: not an encrypted JSON keystore`, { variable: 'ANCHORER_KEYSTORE' });
  try {
    return (await Wallet.fromEncryptedJson(json, c.ANCHORER_KEYSTORE_PASSWORD ?? '')).privateKey as Hex;
  } catch {
    // ethers' error repeats its arguments; the password is not written anywhere.
    throw new ConfigError(`Invalid configuration: ANCHORER_KEYSTORE_PASSWORD does not decrypt ANCHORER_KEYSTORE=${path}`, { variable: 'ANCHORER_KEYSTORE_PASSWORD' });
  }
}

/**
 * Sealer + anchorer + (without CHAIN_RPC_URL) the embedded Hardhat chain with a fresh
 * AuditAnchor. With CHAIN_RPC_URL and no ANCHOR_CONTRACT, start-up fails: deploy first with
 * `openmcp contracts deploy --rpc URL`. The anchorer key (ANCHORER_PRIVATE_KEY or
 * ANCHORER_KEYSTORE) is read only when the anchorer role runs here, and is then required (a
 * ConfigError naming ANCHORER_PRIVATE_KEY); elsewhere the anchorer only reads the chain.
 */
export async function startAuditPipeline(p: StartAuditPipelineParameters): Promise<AuditPipeline> {
  const c = p.config;
  const roles = { sealer: true, anchorer: true, ...p.roles };
  let chain: LocalChain | undefined;
  let rpcUrl: string;
  let contractAddress: string;
  let key: Hex | undefined;
  if (c.CHAIN_RPC_URL) {
    const missing = chainSettingsError(c, { anchorer: false });
    if (missing || !c.ANCHOR_CONTRACT) throw missing;
    rpcUrl = c.CHAIN_RPC_URL;
    contractAddress = c.ANCHOR_CONTRACT;
    if (roles.anchorer) key = p.anchorerKey ?? (await readAnchorerKey(c));
  } else {
    chain = await startLocalChain({ port: c.CHAIN_PORT, dataDir: c.dataDir, log: p.log, debug: p.debug });
    rpcUrl = chain.rpcUrl;
    contractAddress = chain.contractAddress;
    if (roles.anchorer) key = chain.anchorerPrivateKey;
  }
  const batchLog = new BatchLog(p.store);
  // Only a process that seals reads (or, without SEALER_PRIVATE_KEY, creates) DATA_DIR/sealer.key.
  const sealerKey = roles.sealer ? loadOrCreateSealerKey(c.dataDir, c.SEALER_PRIVATE_KEY) : undefined;
  const sealerOpts = (key: Hex) => ({
    sealerKey: key,
    maxEvents: c.BATCH_MAX_EVENTS,
    maxWaitMs: c.BATCH_MAX_SECONDS * 1000,
    onError: (e: unknown) => p.onError?.('sealer', e),
  });
  let funds: AnchorerFunds | undefined;
  const anchorerOpts = { onFunds: (f: AnchorerFunds) => (funds = f), rpcUrl, contract: contractAddress, chainId: c.CHAIN_RPC_URL ? c.CHAIN_ID : undefined, privateKey: key, confirmations: c.CHAIN_CONFIRMATIONS, maxFeePerGas: c.ANCHOR_MAX_FEE_GWEI ? parseUnits(c.ANCHOR_MAX_FEE_GWEI, 'gwei') : undefined, onError: (e: unknown) => p.onError?.('anchorer', e), log: p.log, firstChain: {} };
  // anchorerOpts.firstChain is shared: each term's anchorer keeps to the chain this process met first (as /readyz says).
  const anchorer = createAnchorer(p.store, anchorerOpts, batchLog);
  const running: { stop(): Promise<unknown> }[] = [];
  const leaderships: { role: 'sealer' | 'anchorer'; leadership: Leadership }[] = [];
  const leases = p.leases;
  if (leases) {
    // Each term gets a fresh sealer/anchorer writing through a store that checks the term's token.
    const lead = (name: 'sealer' | 'anchorer', start: (store: EventStore, token: number) => { stop(): Promise<unknown> }) =>
      startLeadership({
        name,
        store: leases,
        ttlMs: p.leaseTtlMs ?? 10_000,
        onElected: (token) => {
          p.log?.(`${name}: elected leader (fencing token ${token})`);
          return start(fencedEventStore(p.store, leases, name, token), token);
        },
        onDeposed: (token, reason) => p.log?.(`${name}: term ${token} ended (${reason})`),
        onError: (e) => p.onError?.(name, e),
      });
    if (sealerKey) leaderships.push({ role: 'sealer', leadership: lead('sealer', (store) => startSealer(store, sealerOpts(sealerKey), new BatchLog(store))) });
    // The chain has no fencing token: the term's token is checked before each transaction instead.
    const fencedAnchorer = (store: EventStore, token: number) => {
      const a = startAnchorer(store, { ...anchorerOpts, beforeSend: () => assertToken(leases, 'anchorer', token) }, new BatchLog(store));
      // A standby reports no balance: the new leader's anchorer reads it after its first anchor.
      return { stop: () => a.stop().finally(() => (funds = undefined)) };
    };
    if (roles.anchorer) leaderships.push({ role: 'anchorer', leadership: lead('anchorer', fencedAnchorer) });
    running.push(...leaderships.map((l) => l.leadership));
  } else {
    if (sealerKey) running.push(startSealer(p.store, sealerOpts(sealerKey), batchLog));
    if (roles.anchorer) {
      anchorer.start();
      running.push(anchorer);
    }
  }
  return {
    anchorer,
    chain,
    rpcUrl,
    contractAddress,
    sealerAddress: sealerKey ? (signerAddress(sealerKey).toLowerCase() as Hex) : undefined,
    queries: {
      store: p.store,
      batchLog,
      findEvent: p.findEvent,
      retryAfterSeconds: Math.ceil(c.BATCH_MAX_SECONDS),
      anchorStream: () => anchorer.anchorStream().catch(() => undefined),
    },
    leaderships,
    funds: () => funds,
    async stop() {
      await Promise.all(running.map((r) => r.stop()));
      await chain?.stop();
    },
  };
}
