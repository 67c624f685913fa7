import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Wallet, type JsonRpcProvider } from 'ethers';
import { createEvent, type RecordedEvent } from '../../src/core/envelope';
import { newId } from '../../src/core/ids';
import type { Hex } from '../../src/core/hex';
import type { EventStore } from '../../src/eventstore/port';
import { openSqlEventStore, type SqlEventStore } from '../../src/eventstore/sql';
import { BatchLog, type SealedBatch } from '../../src/proofs/batch-log';
import type { ProofQueryDependencies } from '../../src/proofs/batches';
import { createSealer } from '../../src/proofs/sealer';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { deployAuditAnchor } from '../../src/web3/audit-anchor';
import { createRpcProvider } from '../../src/web3/provider';

export const SEALER_KEY: Hex = '0x4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c4c';

export type Fixture = { dir: string; store: SqlEventStore; chain: LocalChain; close(): Promise<void> };

/** A SQLite event store in a temp dir and one embedded Hardhat chain (port 0) for the file. */
export async function openFixture(): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'openmcp-proofs-'));
  const store = await openSqlEventStore(`sqlite:${join(dir, 'events.db')}`);
  const chain = await startLocalChain({ port: 0, dataDir: dir });
  return {
    dir,
    store,
    chain,
    async close() {
      await store.close();
      await chain.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type ChainFixture = Fixture & { provider: JsonRpcProvider };

/** openFixture with a JSON-RPC provider on its chain, for the anchorer files that drive the chain (mining, fees, snapshots); close() destroys it too. */
export async function openChainFixture(): Promise<ChainFixture> {
  const f = await openFixture();
  const provider = createRpcProvider(f.chain.rpcUrl);
  return {
    ...f,
    provider,
    async close() {
      provider.destroy();
      await f.close();
    },
  };
}

/** Mine a block on `provider`'s chain every 100 ms until `done` settles (for a chain with automine off); its answer. */
export async function mineUntil<T>(provider: JsonRpcProvider, done: Promise<T>): Promise<T> {
  let settled = false;
  const watched = done.finally(() => (settled = true));
  const mining = (async () => {
    while (!settled) {
      await new Promise((r) => setTimeout(r, 100));
      if (!settled) await provider.send('evm_mine', []);
    }
  })();
  try {
    return await watched;
  } finally {
    await mining;
  }
}

/** Submit `n` tasks (one TaskSubmitted each), as the API would. */
export async function submitTasks(store: EventStore, n: number): Promise<RecordedEvent[]> {
  const out: RecordedEvent[] = [];
  for (let i = 0; i < n; i++) {
    const stream = `task-${newId()}`;
    const e = createEvent({
      type: 'TaskSubmitted',
      stream,
      tenant: 'acme',
      actor: { kind: 'user', id: 'u1' },
      data: { steps: [{ tool: 'examples__echo', arguments: { text: `hi ${i}` } }] },
    });
    out.push(...(await store.append(stream, [e], { expectedRevision: 'no_stream' })).events);
  }
  return out;
}

export type SealBatchesParameters = {
  /** How many batches (default 1). */
  batches?: number;
  /** Tasks submitted before each batch is sealed. */
  tasks: number;
  /** The sealer's BATCH_MAX_EVENTS (default `tasks`); 1000 seals everything unsealed in one batch. */
  maxEvents?: number;
};

/**
 * Seal `batches` more batches, submitting `tasks` tasks before each: one sealer (SEALER_KEY),
 * flushed once a batch. A batch holds the next `maxEvents` unsealed events of the log, oldest
 * first, so the bookkeeping events of earlier seals and anchors can fill it before the tasks.
 * Fails the test if a flush seals nothing. The batches sealed.
 * @example const contract = await deployAnother(f.chain); await sealBatches(f.store, { batches: 2, tasks: 2 });
 */
export async function sealBatches(store: SqlEventStore, { batches = 1, tasks, maxEvents = tasks }: SealBatchesParameters): Promise<SealedBatch[]> {
  const sealer = createSealer(store, { sealerKey: SEALER_KEY, maxEvents, maxWaitMs: 0 });
  const sealed: SealedBatch[] = [];
  for (let i = 0; i < batches; i++) {
    await submitTasks(store, tasks);
    const batch = await sealer.flush();
    expect(batch, `sealBatches: batch ${i + 1} of ${batches} sealed nothing`).to.not.equal(undefined);
    sealed.push(batch!);
  }
  return sealed;
}

/** A second, fresh AuditAnchor on the same chain (a new deployment to anchor onto). */
export async function deployAnother(chain: LocalChain): Promise<string> {
  const provider = createRpcProvider(chain.rpcUrl);
  try {
    return (await deployAuditAnchor(new Wallet(chain.anchorerPrivateKey, provider))).address;
  } finally {
    provider.destroy();
  }
}

export function queries(store: EventStore, anchorStream: () => Promise<string | undefined>): ProofQueryDependencies {
  return {
    store,
    batchLog: new BatchLog(store),
    anchorStream,
    findEvent: async (id) => {
      for (let after: number | undefined; ; ) {
        const page = await store.readAll({ after, limit: 1000 });
        const hit = page.find((e) => e.id === id);
        if (hit || page.length === 0) return hit;
        after = page[page.length - 1].position;
      }
    },
  };
}
