import { expect } from 'chai';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runVerify } from '../../src/cli/verify';
import { runVerifyBatch } from '../../src/cli/verify-batch';

// Nothing here reaches a chain: each file is refused before any check (exit 2).
const NO_CHAIN = 'http://127.0.0.1:1';

describe('openmcp verify-batch: a file that is not a batch export is named for what it is', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-verify-batch-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const run = async (name: string, content: unknown, contract?: string) => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(content));
    const out: string[] = [];
    const code = await runVerifyBatch({ batchId: 1, file, rpc: NO_CHAIN, contract, out: (l) => out.push(l) });
    return { code, out, file };
  };

  it('the API\'s error answer saved in its place (403 for a key that is not cross-tenant): said so, not "pass --contract"', async () => {
    const { code, out, file } = await run('forbidden.json', {
      type: 'https://openmcp.dev/errors#forbidden',
      title: 'Forbidden',
      status: 403,
      code: 'FORBIDDEN',
      detail: "the batch export holds every tenant's events: cross-tenant principals only",
    });
    expect(code).to.equal(2);
    expect(out).to.deep.equal([`FAILED: ${file} is an error answer from the API, not a batch export: FORBIDDEN: the batch export holds every tenant's events: cross-tenant principals only`]);
  });

  it('the same with --contract given (it was "no events list" then)', async () => {
    const { code, out } = await run('not-found.json', { status: 404, code: 'NOT_FOUND', detail: 'batch 1 not found' }, '0x5fbdb2315678afecb367f032d93f642f64180aa3');
    expect(code).to.equal(2);
    expect(out[0]).to.match(/is an error answer from the API, not a batch export: NOT_FOUND: batch 1 not found$/);
  });

  // Saved by a Windows editor or PowerShell's `-Encoding utf8`: the browser verifier (Blob.text()) drops the BOM, which read "Unexpected token '', ..." here.
  it('a file that starts with a UTF-8 byte order mark is read as the JSON after it', async () => {
    const file = join(dir, 'bom.json');
    writeFileSync(file, `\ufeff${JSON.stringify({ status: 404, code: 'NOT_FOUND', detail: 'batch 1 not found' })}`);
    const out: string[] = [];
    expect(await runVerifyBatch({ batchId: 1, file, rpc: NO_CHAIN, out: (l) => out.push(l) })).to.equal(2);
    expect(out).to.deep.equal([`FAILED: ${file} is an error answer from the API, not a batch export: NOT_FOUND: batch 1 not found`]);
  });

  it('an object that is neither keeps its message', async () => {
    const { code, out } = await run('other.json', { hello: 'world' });
    expect(code).to.equal(2);
    expect(out).to.deep.equal(['FAILED: the export has no events list or no contract address (pass --contract)']);
  });
});

/** A file too large to be what it claims was read whole first: 9 s and 620 MB of memory for 600 MB, then "Invalid string length". */
describe('openmcp verify / verify-batch: a file too large to read', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-verify-large-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a proof file over 64 MiB: refused from its size (exit 2), unread', async () => {
    const file = join(dir, 'proof.json');
    writeFileSync(file, '');
    truncateSync(file, 65 * 1024 * 1024);
    const out: string[] = [];
    expect(await runVerify({ file, rpc: NO_CHAIN, out: (l) => out.push(l) })).to.equal(2);
    expect(out).to.deep.equal([`FAILED: ${file} is 65 MiB, more than a proof file can be (one event of at most 4 MiB, and its path): not a proof of one event`]);
  });

  it('an export over 512 MiB: refused from its size (exit 2), naming the limit', async () => {
    const file = join(dir, 'export.json');
    writeFileSync(file, '');
    truncateSync(file, 600 * 1024 * 1024);
    const out: string[] = [];
    expect(await runVerifyBatch({ batchId: 1, file, rpc: NO_CHAIN, out: (l) => out.push(l) })).to.equal(2);
    expect(out).to.deep.equal([`FAILED: ${file} is 600 MiB, more than Node reads as one JSON text (512 MiB): verify-batch cannot check it; check its events one by one with their proofs (openmcp verify)`]);
  });
});

/** `ANCHOR_CONTRACT=` (an .env line left blank) read "--contract (or ANCHOR_CONTRACT)  is not an address": the empty value did not show. */
describe('openmcp verify / verify-batch: an empty pinned address', () => {
  it('is named as empty, before any check (exit 2)', async () => {
    const out: string[] = [];
    expect(await runVerify({ file: 'unread.json', rpc: NO_CHAIN, contract: '', out: (l) => out.push(l) })).to.equal(2);
    expect(await runVerifyBatch({ batchId: 0, file: 'unread.json', rpc: NO_CHAIN, signer: '', out: (l) => out.push(l) })).to.equal(2);
    expect(out).to.deep.equal([
      'FAILED: --contract (or ANCHOR_CONTRACT) is empty: give an address (0x and 40 hex digits), or leave it unset',
      'FAILED: --signer is empty: give an address (0x and 40 hex digits), or leave it unset',
    ]);
  });
});
