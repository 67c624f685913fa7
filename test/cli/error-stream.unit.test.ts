import { expect } from 'chai';
import { spawnSync } from 'node:child_process';

describe('openmcp client commands: errors go to stderr', function () {
  this.timeout(30_000);

  // `openmcp tasks list --json | jq` must show the error, not jq's parse error on it.
  it('tasks list --json with the gateway unreachable: exit 1, nothing on stdout, the error on stderr', () => {
    const r = spawnSync(process.execPath, ['bin/openmcp', 'tasks', 'list', '--json'], {
      env: { ...process.env, OPENMCP_URL: 'http://127.0.0.1:9', OPENMCP_API_KEY: 'omk_whatever_whatever', OPENMCP_CONFIG: '' },
      encoding: 'utf8',
      timeout: 25_000,
    });
    expect(r.status, r.stderr).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/^error SDK_CONNECTION_FAILED: cannot reach http:\/\/127\.0\.0\.1:9/);
  });
});
