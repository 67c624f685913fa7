import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, encryptKeystoreJsonSync } from 'ethers';
import type { EventStore } from '../../src/eventstore/port';
import { startAuditPipeline, type StartAuditPipelineParameters } from '../../src/proofs/pipeline';

/** The anchorer's key from ANCHORER_KEYSTORE: a file that is not there or a wrong password names the variable to fix. */
describe('anchorer key from ANCHORER_KEYSTORE', () => {
  let dir: string;
  let keystore: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'openmcp-keystore-'));
    const w = Wallet.createRandom();
    keystore = join(dir, 'anchorer.json');
    writeFileSync(keystore, encryptKeystoreJsonSync({ address: w.address, privateKey: w.privateKey }, 'right horse', { scrypt: { N: 1024 } }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function start(c: Partial<StartAuditPipelineParameters['config']>): Promise<{ code?: string; message?: string; details?: Record<string, unknown> }> {
    const config = { dataDir: dir, CHAIN_RPC_URL: 'http://127.0.0.1:1', CHAIN_PORT: 8545, ANCHOR_CONTRACT: `0x${'11'.repeat(20)}`, CHAIN_CONFIRMATIONS: 1, BATCH_MAX_EVENTS: 10, BATCH_MAX_SECONDS: 1, ...c };
    return startAuditPipeline({ store: {} as EventStore, config, findEvent: async () => undefined, roles: { sealer: false, anchorer: true } }).then(
      () => expect.fail('started'),
      (e) => e,
    );
  }

  it('a keystore file that is not there: CONFIG_INVALID naming ANCHORER_KEYSTORE and the path (was: a bare ENOENT)', async () => {
    const err = await start({ ANCHORER_KEYSTORE: join(dir, 'missing.json') });
    expect(err.code).to.equal('CONFIG_INVALID');
    expect(err.details?.variable).to.equal('ANCHORER_KEYSTORE');
    expect(err.message).to.equal(`Invalid configuration: ANCHORER_KEYSTORE=${join(dir, 'missing.json')}: cannot read it (ENOENT)`);
  });

  it('a wrong or missing password: CONFIG_INVALID naming ANCHORER_KEYSTORE_PASSWORD, never the password (was: ethers\' "incorrect password")', async () => {
    for (const password of ['wrong horse', undefined]) {
      const err = await start({ ANCHORER_KEYSTORE: keystore, ANCHORER_KEYSTORE_PASSWORD: password });
      expect(err.code, String(password)).to.equal('CONFIG_INVALID');
      expect(err.details?.variable).to.equal('ANCHORER_KEYSTORE_PASSWORD');
      expect(err.message).to.equal(`Invalid configuration: ANCHORER_KEYSTORE_PASSWORD does not decrypt ANCHORER_KEYSTORE=${keystore}`);
      expect(JSON.stringify(err)).to.not.include('wrong horse');
    }
  });

  it('a keystore that is not one: CONFIG_INVALID naming ANCHORER_KEYSTORE', async () => {
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"not":"a keystore"}');
    const err = await start({ ANCHORER_KEYSTORE: bad, ANCHORER_KEYSTORE_PASSWORD: 'x' });
    expect(err.code).to.equal('CONFIG_INVALID');
    expect(err.details?.variable).to.equal('ANCHORER_KEYSTORE');
    expect(err.message).to.equal(`Invalid configuration: ANCHORER_KEYSTORE=${bad}: not an encrypted JSON keystore`);
  });
});
