/**
 * The bootstrap admin key is printed by the start that creates it, even when that start then
 * fails (a bad MCP_SERVERS_FILE, a chain that does not answer): the next start finds the key file
 * and prints nothing, so a key not printed then was never shown to the person who started it.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOpenMcp } from '../../src/main';

describe('openmcp start: the bootstrap admin key', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-bootstrap-key-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is printed by the start that generates it, even when that start fails afterwards', async () => {
    const servers = join(dir, 'servers.yaml');
    writeFileSync(servers, 'mcpServers:\n  files:\n    command: node\n    env:\n      TOKEN: "${env:OPENMCP_TEST_SURELY_UNSET}"\n');
    const config = loadConfig({ DATA_DIR: join(dir, 'data'), LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', MCP_SERVERS_FILE: servers });
    const lines: string[] = [];
    const err = await startOpenMcp(config, { listen: false, print: (l) => lines.push(l) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, 'the start fails on the servers file').to.have.property('code', 'CONFIG_INVALID');
    const key = readFileSync(join(dir, 'data', 'admin.key'), 'utf8').trim();
    expect(lines.join('\n')).to.include(key);
  });
});
