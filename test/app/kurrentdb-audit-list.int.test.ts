/**
 * `openmcp start` on KurrentDB (gRPC fake) as wired in main.ts: the audit list is held at the
 * store's complete position, which a projector finds in the background at its start for the
 * events the log held before (as after the upgrade), and keeps in the database.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { openKurrentEventStore } from '../../src/eventstore/kurrentdb';
import { AUDIT_COMPLETE_CHECKPOINT } from '../../src/readmodels/store-applied-through';
import { CHECKPOINT_TABLE } from '../../projections/tables';
import { startLocalChain, type LocalChain } from '../../src/web3/local-chain';
import { freePort } from '../support/free-port';
import { startKurrentFake, type KurrentFake } from '../support/kurrentdb-fake';
import { appendEvents } from '../relay/event-log-fixture';

const ADMIN = 'omk_test_admin_key_for_the_kurrentdb_audit_list_0001';
const SEALER_KEY = `0x${'11'.repeat(32)}`;

describe('openmcp start on KurrentDB: the audit list and its complete position', function () {
  this.timeout(120_000);
  let chain: LocalChain;
  let fake: KurrentFake;
  let app: OpenMcp | undefined;
  const dirs: string[] = [];

  before(async () => {
    const chainDir = mkdtempSync(join(tmpdir(), 'omc-kdb-list-chain-'));
    dirs.push(chainDir);
    chain = await startLocalChain({ port: await freePort(), dataDir: chainDir });
    fake = await startKurrentFake();
  });
  after(async () => {
    await app?.close().catch(() => {});
    await fake?.stop();
    await chain?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('lists every event the log held before the start and those appended after, and keeps the complete position in the checkpoints table', async () => {
    const before = await openKurrentEventStore(fake.url);
    await appendEvents(before, 3, 4, 2);
    await before.close();
    const dir = mkdtempSync(join(tmpdir(), 'omc-kdb-list-'));
    dirs.push(dir);
    const config = loadConfig({
      DATA_DIR: dir,
      LOG_LEVEL: 'silent',
      OPENMCP_EXAMPLES: 'off',
      OPENMCP_ROLES: 'api,projector',
      OPENMCP_ADMIN_KEY: ADMIN,
      KURRENTDB_URL: fake.url,
      CHAIN_RPC_URL: chain.rpcUrl,
      ANCHOR_CONTRACT: chain.contractAddress,
      SEALER_PRIVATE_KEY: SEALER_KEY,
    });
    app = await startOpenMcp(config, { listen: false, print: () => {} });
    await appendEvents(app.store, 2, 3, 1);
    const all = (await app.store.readAll({ limit: 1000 })).map((e) => e.position);
    const listed = async () => (await app!.app.inject({ url: '/v1/events?limit=1000', headers: { authorization: `Bearer ${ADMIN}` } })).json().items.map((e: { position: number }) => e.position);
    const deadline = Date.now() + 20_000;
    while ((await listed()).length < all.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await listed()).to.deep.equal(all);
    const kept = await app.knex(CHECKPOINT_TABLE).where('projection', AUDIT_COMPLETE_CHECKPOINT).first('position');
    expect(Number(kept?.position)).to.equal(all[all.length - 1]);
    await app.close();
    app = undefined;
  });
});
