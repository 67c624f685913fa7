/**
 * A POLICY_FILE the agent would refuse, or an MCP_SERVERS_FILE, CHAINS_FILE or EMBEDDING_MODEL_DIR
 * (no model files there) the process would refuse, stops `openmcp start` before anything is made or started: no database, no bootstrap key,
 * no chain. Nothing of a start that could not apply its settings is left behind for the next one.
 */
import { expect } from 'chai';
import { existsSync, mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { startOpenMcp } from '../../src/main';
import { makeTinyModel } from '../../scripts/make-tiny-model';

describe('openmcp start: a bad POLICY_FILE, MCP_SERVERS_FILE, CHAINS_FILE or EMBEDDING_MODEL_DIR', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'omc-policy-start-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stops the start naming the field, before the database, the bootstrap key or the chain exist', async () => {
    const policy = join(dir, 'policy.yaml');
    writeFileSync(policy, 'policies:\n  - tenant: acme\n    tools: { deny: ["Examples__now"] }\n');
    const data = join(dir, 'data');
    const config = loadConfig({ DATA_DIR: data, LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', POLICY_FILE: policy, CHAIN_PORT: '1' });
    const lines: string[] = [];
    const err = await startOpenMcp(config, { listen: false, print: (l) => lines.push(l) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.have.property('code', 'CONFIG_INVALID');
    expect((err as Error).message).to.match(/POLICY_FILE .*policies\.0\.tools\.deny\.0: .*names no tool/);
    expect(existsSync(data) ? readdirSync(data) : [], 'nothing made in DATA_DIR').to.deep.equal([]);
    expect(lines, 'no bootstrap key printed').to.deep.equal([]);
  });

  const refusedBeforeAnything = async (env: Record<string, string>, message: RegExp) => {
    const data = join(dir, 'data');
    const config = loadConfig({ DATA_DIR: data, LOG_LEVEL: 'silent', OPENMCP_EXAMPLES: 'off', CHAIN_PORT: '1', ...env });
    const lines: string[] = [];
    const err = await startOpenMcp(config, { listen: false, print: (l) => lines.push(l) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.have.property('code', 'CONFIG_INVALID');
    expect((err as Error).message).to.match(message);
    expect(existsSync(data) ? readdirSync(data) : [], 'nothing made in DATA_DIR').to.deep.equal([]);
    expect(lines, 'no bootstrap key printed').to.deep.equal([]);
  };

  it('an MCP_SERVERS_FILE naming a key twice stops the start before anything is made (it was refused after migrating)', async () => {
    const servers = join(dir, 'servers.json');
    writeFileSync(servers, '{"mcpServers":{"files":{"command":"npx","env":{"A":"1"},"env":{"B":"2"}}}}');
    await refusedBeforeAnything({ MCP_SERVERS_FILE: servers }, /MCP_SERVERS_FILE .*names "env" twice/);
  });

  it('a CHAINS_FILE without chains stops the start before anything is made', async () => {
    const chains = join(dir, 'chains.json');
    writeFileSync(chains, '{}');
    await refusedBeforeAnything({ CHAINS_FILE: chains }, /CHAINS_FILE .*has no `chains` list/);
  });

  it('an EMBEDDING_MODEL_DIR without the model stops the start before anything is made (it was refused after the database and the bootstrap key)', async () => {
    await refusedBeforeAnything({ EMBEDDING_MODEL_DIR: join(dir, 'no-model') }, /EMBEDDING_MODEL_DIR: no model\/onnx\/model\.onnx \(or model_quantized\.onnx\) under /);
  });

  it('an EMBEDDING_MODEL_DIR whose model lacks its tokenizer stops the start before anything is made (it passed the check and failed at load, after the database and the bootstrap key)', async () => {
    const modelDir = makeTinyModel(join(dir, 'models'));
    unlinkSync(join(modelDir, 'tokenizer.json'));
    await refusedBeforeAnything({ EMBEDDING_MODEL_DIR: join(dir, 'models') }, /EMBEDDING_MODEL_DIR: no model\/tokenizer\.json under /);
  });

  it("an EMBEDDING_MODEL_DIR naming the model's own folder says to name the folder holding it", async () => {
    const modelDir = makeTinyModel(join(dir, 'models'));
    await refusedBeforeAnything({ EMBEDDING_MODEL_DIR: modelDir }, new RegExp(`that is the model's own folder: set EMBEDDING_MODEL_DIR=${join(dir, 'models')} \\(the folder holding model/\\)`));
  });
});
