import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fatalErrorText } from '../../src/cli/fatal-error-text';

describe('openmcp: an error that ends a command', function () {
  this.timeout(30_000);

  it('a database it cannot reach: exit 1 and one line naming DATABASE_URL and the driver\'s code, no stack, no password', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'openmcp-fatal-'));
    try {
      const r = spawnSync(process.execPath, ['bin/openmcp', 'projections', 'rebuild', 'tasks'], {
        env: { ...process.env, DATA_DIR: dataDir, DATABASE_URL: 'mysql://root:topsecret@127.0.0.1:1/nodb', OPENMCP_CONFIG: '', KURRENTDB_URL: '', REDIS_URL: '' },
        encoding: 'utf8',
        timeout: 25_000,
      });
      expect(r.status, r.stderr).to.equal(1);
      const ours = r.stderr.split('\n').filter((l) => l.startsWith('openmcp:'));
      expect(ours).to.have.length(1);
      // Which setting and where, as the other stores say it (was the driver's bare "ECONNREFUSED 127.0.0.1:1").
      expect(ours[0]).to.match(/^openmcp: DEPENDENCY_UNAVAILABLE: mysql: cannot connect to mysql:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1\/nodb \(DATABASE_URL\): .*ECONNREFUSED.*127\.0\.0\.1:1/);
      expect(r.stdout + r.stderr).to.not.match(/^\s+at /m);
      expect(r.stderr).to.not.include('topsecret');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a bug (an error without a code) keeps its stack, for the report', () => {
    expect(fatalErrorText(new TypeError('x is undefined'))).to.match(/^openmcp: TypeError: x is undefined\n\s+at /);
  });

  it('redacts credentials a driver repeats in its message', () => {
    const err = Object.assign(new Error('connect to redis://:hunter2@10.0.0.1:6379 failed'), { code: 'ETIMEDOUT' });
    expect(fatalErrorText(err)).to.equal('openmcp: ETIMEDOUT: connect to redis://:***@10.0.0.1:6379 failed');
  });

  it('redacts a chain RPC API key in the path (Infura /v3/<key>), as ethers repeats the URL (was: printed whole)', () => {
    const err = Object.assign(new Error('server response 401 Unauthorized (info={ "requestUrl": "https://mainnet.infura.io/v3/0123456789abcdef0123456789abcdef" })'), { code: 'SERVER_ERROR' });
    expect(fatalErrorText(err)).to.equal('openmcp: SERVER_ERROR: server response 401 Unauthorized (info={ "requestUrl": "https://mainnet.infura.io/v3/***" })');
  });
});
