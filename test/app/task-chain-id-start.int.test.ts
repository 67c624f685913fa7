/**
 * `openmcp start` hands the chain ids of CHAINS_FILE to POST /v1/tasks (src/main.ts): a task naming
 * another chainId is refused, one CHAINS_FILE lists is taken; with no CHAINS_FILE, any is taken.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOpenMcp, type OpenMcp } from '../../src/main';
import { freePort } from '../support/free-port';

const ADMIN = `omk_${randomBytes(24).toString('base64url')}`;
const STEP = { steps: [{ tool: 'examples__echo', arguments: { text: 'hi' } }] };

describe('openmcp start: a task\'s chainId checked against CHAINS_FILE', function () {
  this.timeout(120_000);
  let dir: string;
  let app: OpenMcp | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-task-chain-'));
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  async function start(env: Record<string, string>): Promise<OpenMcp> {
    const config = loadConfig({ DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', OPENMCP_ADMIN_KEY: ADMIN, OPENMCP_ROLES: 'api', CHAIN_RPC_URL: `http://127.0.0.1:${await freePort()}`, ANCHOR_CONTRACT: `0x${'1'.repeat(40)}`, ...env });
    app = await startOpenMcp(config, { listen: false, print: () => {} });
    return app;
  }
  const submit = (a: OpenMcp, chainId: number) => a.app.inject({ method: 'POST', url: '/v1/tasks', headers: { authorization: `Bearer ${ADMIN}` }, payload: { ...STEP, chainId } });

  it('an api process with CHAINS_FILE refuses a chainId it does not list and takes 31337, which it lists', async () => {
    const chains = join(dir, 'chains.json');
    writeFileSync(chains, JSON.stringify({ chains: [{ chainId: 31337, rpcUrl: `http://127.0.0.1:${await freePort()}`, contracts: [] }] }));
    const a = await start({ CHAINS_FILE: chains });
    const refused = await submit(a, 5);
    expect(refused.statusCode, refused.body).to.equal(400);
    expect(refused.json()).to.include({ code: 'VALIDATION_FAILED', field: 'body.chainId' });
    expect((await submit(a, 31337)).statusCode).to.equal(202);
  });

  it('an api process without CHAINS_FILE takes any chainId (31337 of the embedded chain among them)', async () => {
    const a = await start({});
    expect((await submit(a, 31337)).statusCode).to.equal(202);
    expect((await submit(a, 5)).statusCode).to.equal(202);
  });
});
