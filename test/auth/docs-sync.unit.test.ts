import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PERMISSIONS, ROLES, ROLE_PERMISSIONS } from '../../src/auth/roles';
import { CONFIG_VARIABLES } from '../../src/config';

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

  /**
   * Codes as the code produces them: thrown (`new XError('CODE'`, `super('CODE'`), set
   * (`code: 'CODE'`, `code: 'A' | 'B'` parameter unions, `ErrorCode = … | 'CODE'`), or given as the
   * fallback of a caught error (`err.code : 'CODE'`, `.code ?? 'CODE'`).
   */
  function producedCodes(): Map<string, string> {
    const codes = new Map<string, string>();
    const patterns = [
      /\b(?:\w*Error|super)\(\s*'([A-Z][A-Z0-9_]+)'/g,
      /\bcode\??\s*[:=]\s*'([A-Z][A-Z0-9_]+)'/g,
      /\.code\s*(?::|\?\?)\s*'([A-Z][A-Z0-9_]+)'/g,
    ];
    for (const f of [...sources(join(root, 'src')), ...sources(join(root, 'events'))]) {
      const text = readFileSync(f, 'utf8');
      const add = (c: string) => codes.has(c) || codes.set(c, f.slice(root.length + 1));
      for (const re of patterns) for (const m of text.matchAll(re)) add(m[1]);
      for (const m of text.matchAll(/\bcode\??\s*:\s*((?:'[A-Z][A-Z0-9_]+'\s*\|\s*)+'[A-Z][A-Z0-9_]+')/g)) for (const c of m[1].matchAll(/'([A-Z0-9_]+)'/g)) add(c[1]);
      if (/ErrorCode\s*=/.test(text)) for (const m of text.matchAll(/\|\s*'([A-Z][A-Z0-9_]+)'/g)) add(m[1]);
    }
    return codes;
  }

  /** The codes of the catalogue: the first cell of its table rows. */
  function catalogueCodes(): string[] {
    const md = readFileSync(join(root, 'docs', 'errors.md'), 'utf8');
    return [...md.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
  }

  it('docs/errors.md lists every error code produced in src/ and events/', () => {
    const codes = producedCodes();
    expect(codes.size).to.be.greaterThan(20);
    const documented = new Set(catalogueCodes());
    const missing = [...codes].filter(([c]) => !documented.has(c)).map(([c, f]) => `${c} (${f})`);
    expect(missing, 'codes missing from docs/errors.md').to.deep.equal([]);
  });

  it('docs/errors.md lists each code once, and only codes still produced', () => {
    const codes = producedCodes();
    const rows = catalogueCodes();
    expect(rows.filter((c, i) => rows.indexOf(c) !== i), 'codes with two rows').to.deep.equal([]);
    expect(rows.filter((c) => !codes.has(c)), 'documented codes nothing produces').to.deep.equal([]);
  });
  it('every UPPER_SNAKE string in src/ and events/ is a documented code, a variable, or a library\'s code (a code made by a lookup table is still caught)', () => {
    // Not ours: codes that node's HTTP server (clientError: ERR_HTTP_REQUEST_TIMEOUT, HPE_HEADER_OVERFLOW), drivers (mysql2's connection and lock codes: isConnectionFailure), brokers (INVALID_SESSION_TIMEOUT: a session timeout out of group.min/max.session.timeout.ms) and ethers (NONCE_EXPIRED, TRANSACTION_REPLACED, CALL_EXCEPTION, BAD_DATA, INSUFFICIENT_FUNDS, and SERVER_ERROR and UNSUPPORTED_OPERATION for a URL where no JSON-RPC node answers, NETWORK_ERROR for a chain id changed under a provider, UNKNOWN_ERROR for a JSON-RPC error answer it could not classify, REPLACEMENT_UNDERPRICED for a send on a nonce taken by a transaction offering as much; node's ERR_INVALID_URL for no URL at all, and its MODULE_NOT_FOUND for a development dependency a production install left out: hardhatBootstrap) DNS lookups (EAI_AGAIN) and the yaml parser (DUPLICATE_KEY: a policy file's key written twice) report, a column name, an example in a doc comment, the variables read outside the schema.
    const foreign = new Set(['SQLITE_BUSY', 'ER_LOCK_DEADLOCK', 'MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_SESSION_TIMEOUT', 'UNKNOWN_TOPIC_OR_PARTITION', 'COLLATION_NAME', 'GITHUB_TOKEN', 'OPENMCP_CONFIG', 'OPENMCP_API_KEY', 'OPENMCP_URL', 'NONCE_EXPIRED', 'TRANSACTION_REPLACED', 'CALL_EXCEPTION', 'BAD_DATA', 'INSUFFICIENT_FUNDS', 'EAI_AGAIN', 'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT', 'ER_SERVER_SHUTDOWN', 'ER_CONNECTION_KILLED', 'ER_CON_COUNT_ERROR', 'ER_LOCK_WAIT_TIMEOUT', 'ER_DUP_ENTRY', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE', 'LEADER_NOT_AVAILABLE', 'ERR_HTTP_REQUEST_TIMEOUT', 'HPE_HEADER_OVERFLOW', 'DUPLICATE_KEY', 'SERVER_ERROR', 'UNSUPPORTED_OPERATION', 'NETWORK_ERROR', 'UNKNOWN_ERROR', 'REPLACEMENT_UNDERPRICED', 'ERR_INVALID_URL', 'MODULE_NOT_FOUND']);
    const documented = new Set([...catalogueCodes(), ...CONFIG_VARIABLES, ...foreign]);
    const unknown = new Set<string>();
    for (const f of [...sources(join(root, 'src')), ...sources(join(root, 'events'))]) {
      for (const m of readFileSync(f, 'utf8').matchAll(/'([A-Z][A-Z0-9]*_[A-Z0-9_]+)'/g)) if (!documented.has(m[1])) unknown.add(`${m[1]} (${f.slice(root.length + 1)})`);
    }
    expect([...unknown], 'add the code to docs/errors.md (or, if it is not ours, to the list above)').to.deep.equal([]);
  });
});
