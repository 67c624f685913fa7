import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSubjectsExport } from '../../src/cli/subjects';
import type { OpenMcpClient } from '../../src/sdk/client';

/** `openmcp subjects export --out FILE`: the file holds a person's data, so it is the owner's only. */
describe('openmcp subjects export --out FILE', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'omc-export-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const client = {
    subjects: { show: async () => ({ subject: 'acme:user:u1', keys: [] }), events: async () => ({ items: [] }) },
  } as unknown as OpenMcpClient;

  it('makes FILE mode 0600, and makes an existing FILE open to others 0600 before writing into it', async () => {
    const made = join(dir, 'new.json');
    expect(await runSubjectsExport(client, 'acme:user:u1', { out: made }, () => {})).to.equal(0);
    expect(statSync(made).mode & 0o777).to.equal(0o600);

    const existing = join(dir, 'old.json');
    writeFileSync(existing, 'an older export', { mode: 0o644 });
    expect(await runSubjectsExport(client, 'acme:user:u1', { out: existing }, () => {})).to.equal(0);
    expect(statSync(existing).mode & 0o777).to.equal(0o600);
    expect(JSON.parse(readFileSync(existing, 'utf8'))).to.include({ subject: 'acme:user:u1' });
  });
});
