/**
 * A chain named without its AuditAnchor (infra/docker-compose.yml's first `up`, before
 * contracts-deploy), or an anchorer role on it without its key, stops `openmcp start` before
 * anything is made, as a taken port or a bad settings file does (taken-port-start.int.test.ts):
 * no database, no bootstrap key printed. Both were refused only once the database was migrated
 * and a generated bootstrap key printed and stored, which the next start (with the setting fixed)
 * did not print again.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encryptKeystoreJsonSync, Wallet } from 'ethers';
import { loadConfig } from '../../src/config';
import { startOpenMcp } from '../../src/main';
import { parseRoles } from '../../src/app/roles';
import { chainSettingsError } from '../../src/proofs';
import { freePort } from '../support/free-port';

describe('openmcp start: CHAIN_RPC_URL without ANCHOR_CONTRACT, or without the anchorer key', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-chain-settings-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts with these settings (nothing listens at CHAIN_RPC_URL); the error, what was printed and what DATA_DIR holds. */
  async function start(env: Record<string, string>, logs: string[] = []) {
    const data = join(dir, 'data');
    const config = loadConfig({ DATA_DIR: data, LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', PORT: String(await freePort()), CHAIN_RPC_URL: `http://127.0.0.1:${await freePort()}`, ...env });
    const lines: string[] = [];
    const err = await startOpenMcp(config, { print: (l) => lines.push(l), logStream: { write: (l: string) => void logs.push(l) } }).then(
      async (app) => void (await app.close()),
      (e: unknown) => e,
    );
    return { err, lines, made: existsSync(data) ? readdirSync(data) : [] };
  }

  for (const roles of ['all', 'relay', 'api,projector']) {
    it(`no ANCHOR_CONTRACT (roles ${roles}): CONFIG_INVALID naming it and how to deploy, before the database or a bootstrap key exist`, async () => {
      const r = await start({ OPENMCP_ROLES: roles });
      expect(r.err).to.have.property('code', 'CONFIG_INVALID');
      expect(r.err).to.have.nested.property('details.variable', 'ANCHOR_CONTRACT');
      expect((r.err as Error).message).to.include('openmcp contracts deploy --rpc').and.include('contracts-deploy');
      expect(r.made, 'nothing made in DATA_DIR').to.deep.equal([]);
      expect(r.lines, 'no bootstrap key printed').to.deep.equal([]);
    });
  }

  it('roles other than all without CHAIN_RPC_URL: CONFIG_INVALID naming it, and --roles as well as OPENMCP_ROLES (the roles given either way), before anything is made', async () => {
    const data = join(dir, 'data');
    const config = loadConfig({ DATA_DIR: data, LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', PORT: String(await freePort()), OPENMCP_ROLES: 'relay' });
    const err = await startOpenMcp(config, { print: () => undefined }).then(
      async (app) => void (await app.close()),
      (e: unknown) => e,
    );
    expect(err).to.have.property('code', 'CONFIG_INVALID');
    expect(err).to.have.nested.property('details.variable', 'CHAIN_RPC_URL');
    expect((err as Error).message).to.include('OPENMCP_ROLES (or start --roles)').and.include('ANCHOR_CONTRACT');
    expect(existsSync(data), 'nothing made in DATA_DIR').to.equal(false);
  });

  it('the anchorer role without ANCHORER_PRIVATE_KEY or ANCHORER_KEYSTORE, or with a keystore that cannot be read, is none or its password does not decrypt: CONFIG_INVALID naming it, before anything is made; another role needs no key', async () => {
    const contract = { ANCHOR_CONTRACT: `0x${'11'.repeat(20)}` };
    for (const roles of ['all', 'anchorer', 'sealer,anchorer']) {
      const r = await start({ ...contract, OPENMCP_ROLES: roles });
      expect(r.err, roles).to.have.property('code', 'CONFIG_INVALID');
      expect(r.err, roles).to.have.nested.property('details.variable', 'ANCHORER_PRIVATE_KEY');
      expect(r.made, `${roles}: nothing made in DATA_DIR`).to.deep.equal([]);
      expect(r.lines, `${roles}: no bootstrap key printed`).to.deep.equal([]);
    }
    // A keystore that cannot be read, or is none: named before anything is made too.
    const notKeystore = join(dir, 'not-a-keystore.json');
    writeFileSync(notKeystore, '{"address":"x"}');
    for (const [keystore, expected] of [
      [join(dir, 'missing.json'), /cannot read it \(ENOENT\)/],
      [notKeystore, /not an encrypted JSON keystore/],
    ] as const) {
      const r = await start({ ...contract, OPENMCP_ROLES: 'anchorer', ANCHORER_KEYSTORE: keystore });
      expect(r.err, keystore).to.have.property('code', 'CONFIG_INVALID');
      expect(r.err, keystore).to.have.nested.property('details.variable', 'ANCHORER_KEYSTORE');
      expect((r.err as Error).message, keystore).to.match(expected);
      expect(r.made, `${keystore}: nothing made in DATA_DIR`).to.deep.equal([]);
    }
    // A keystore the password does not decrypt: found before anything is made too (it was found only once the
    // database was migrated and a bootstrap key printed, decrypting being slow); the password written nowhere.
    const keystore = join(dir, 'anchorer.json');
    const w = Wallet.createRandom();
    writeFileSync(keystore, encryptKeystoreJsonSync({ address: w.address, privateKey: w.privateKey }, 'right horse', { scrypt: { N: 1024 } }));
    for (const password of ['wrong horse', undefined]) {
      const logs: string[] = [];
      const r = await start({ ...contract, OPENMCP_ROLES: 'anchorer', ANCHORER_KEYSTORE: keystore, ...(password ? { ANCHORER_KEYSTORE_PASSWORD: password } : {}), LOG_LEVEL: 'trace' }, logs);
      expect(r.err, String(password)).to.have.property('code', 'CONFIG_INVALID');
      expect(r.err, String(password)).to.have.nested.property('details.variable', 'ANCHORER_KEYSTORE_PASSWORD');
      expect((r.err as Error).message).to.equal(`Invalid configuration: ANCHORER_KEYSTORE_PASSWORD does not decrypt ANCHORER_KEYSTORE=${keystore}`);
      expect(r.made, `${password}: nothing made in DATA_DIR`).to.deep.equal([]);
      expect(r.lines, `${password}: no bootstrap key printed`).to.deep.equal([]);
      expect(`${JSON.stringify(r.err)} ${(r.err as Error).stack} ${logs.join('')}`).to.not.include('horse');
    }
    // Roles without the anchorer: no key asked for; the embedded chain (no CHAIN_RPC_URL): nothing asked for.
    for (const roles of ['relay', 'api,projector', 'sealer']) expect(chainSettingsError({ CHAIN_RPC_URL: 'http://chain:8545', ...contract }, { anchorer: parseRoles(roles).anchorer }), roles).to.equal(undefined);
    expect(chainSettingsError({}, { anchorer: true })).to.equal(undefined);
  });
});
