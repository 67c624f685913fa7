import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PERMISSIONS, ROLES, ROLE_PERMISSIONS } from '../../src/auth/roles';

const root = join(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('docs stay in step with the code', () => {
  it('docs/security.md renders ROLE_PERMISSIONS exactly', () => {
    const md = readFileSync(join(root, 'docs', 'security.md'), 'utf8');
    for (const perm of PERMISSIONS) {
      const row = md.split('\n').find((l) => l.startsWith(`| \`${perm}\``));
      expect(row, perm).to.be.a('string');
      const cells = row!.split('|').slice(3, 3 + ROLES.length).map((c) => c.trim() === '✔');
      expect(cells, perm).to.deep.equal(ROLES.map((r) => ROLE_PERMISSIONS[r].has(perm)));
    }
  });

  it('docs/errors.md lists every error code thrown in src/ and events/', () => {
    const md = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
    const codes = new Set<string>();
    const re = /(?:OpenMcpError|McpGatewayError|AgentError|Web3Error|super)\(\s*'([A-Z][A-Z0-9_]+)'/g;
    const union = /\|\s*'([A-Z][A-Z0-9_]+)'/g;
    for (const f of [...sources(join(root, 'src')), ...sources(join(root, 'events'))]) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(re)) codes.add(m[1]);
      if (/ErrorCode\s*=/.test(text)) for (const m of text.matchAll(union)) codes.add(m[1]);
    }
    expect(codes.size).to.be.greaterThan(20);
    const missing = [...codes].filter((c) => !md.includes(`\`${c}\``));
    expect(missing, 'codes missing from docs/errors.md').to.deep.equal([]);
  });
});
