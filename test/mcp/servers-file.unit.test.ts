import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { McpGateway } from '../../src/mcp/gateway';
import { registerAtStart } from '../../src/app/register-at-start';
import { readServersFile } from '../../src/mcp/servers-file';
import type { RegisterServerParameters } from '../../src/mcp/types';

const actor = { kind: 'system' as const, id: 'openmcp' };

/** Only what registerAtStart (openmcp start, mcp stdio) uses of a gateway: the registrations it asks for, in order. */
function recordingGateway(): { gateway: McpGateway; ensured: string[] } {
  const ensured: string[] = [];
  const gateway = { listServers: () => [], holdListing: () => {}, ensureServer: async (p: RegisterServerParameters) => void ensured.push(p.name) } as unknown as McpGateway;
  return { gateway, ensured };
}

describe('MCP_SERVERS_FILE: an entry the gateway would refuse stops start-up naming the file and the entry, before any is registered', () => {
  let dir: string;
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-servers-file-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('an entry with neither a command nor a url', () => {
    const path = file('no-command.json', { mcpServers: { files: { command: 'npx', args: ['-y', 'x'] }, bad: { type: 'http' } } });
    let err: (Error & { code?: string }) | undefined;
    try {
      readServersFile(path, actor);
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err?.code).to.equal('CONFIG_INVALID');
    expect(err?.message).to.equal('MCP_SERVERS_FILE: mcpServers.bad.transport: stdio needs a command; http and sse need a url (line 1, column 66)');
  });

  it('a name the registry does not take (other MCP clients allow capitals and spaces)', () => {
    const path = file('name.json', { mcpServers: { 'My Files': { command: 'npx' } } });
    expect(() => readServersFile(path, actor)).to.throw(/^MCP_SERVERS_FILE: mcpServers\.My Files: name "My Files": lowercase letters, digits and -/);
  });

  it('a url that is not http(s)', () => {
    const path = file('url.yaml', 'servers:\n  - name: web\n    url: ftp://example.com/mcp\n');
    expect(() => readServersFile(path, actor)).to.throw(/^MCP_SERVERS_FILE: servers\.0\.url: /);
  });

  it('registers none of the entries, the good ones before the bad one included', async () => {
    const path = file('mixed.json', { mcpServers: { files: { command: 'npx' }, local: { url: 'http://127.0.0.1:3001/mcp' }, bad: { type: 'http' } } });
    const { gateway, ensured } = recordingGateway();
    expect(() => registerAtStart(gateway, { MCP_SERVERS_FILE: path, OPENMCP_EXAMPLES: 'off' }, actor)).to.throw(/^MCP_SERVERS_FILE: mcpServers\.bad\./);
    expect(ensured).to.deep.equal([]);
  });

  it('a file of good entries is registered whole, in order', async () => {
    const path = file('good.json', { mcpServers: { files: { command: 'npx' }, local: { url: 'http://127.0.0.1:3001/mcp' } } });
    const { gateway, ensured } = recordingGateway();
    await registerAtStart(gateway, { MCP_SERVERS_FILE: path, OPENMCP_EXAMPLES: 'off' }, actor).all;
    expect(ensured).to.deep.equal(['files', 'local']);
  });
});

describe('MCP_SERVERS_FILE: a config copied from an MCP client means there what it meant in that client', () => {
  let dir: string;
  const file = (name: string, content: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-servers-file-clients-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('an entry with "disabled": true (Cline, Roo Code) is not registered, nor are its ${env:…} references required; "disabled": false is', () => {
    const path = file('disabled.json', {
      mcpServers: {
        off: { command: 'npx', args: ['-y', 'x'], env: { TOKEN: '${env:OMC_TEST_UNSET_VARIABLE}' }, disabled: true },
        on: { command: 'npx', args: ['-y', 'y'], disabled: false },
      },
    });
    expect(readServersFile(path, actor).map((p) => p.name)).to.deep.equal(['on']);
  });

  it('an entry\'s own connectTimeoutMs (a server slow to start) is its limits, next to timeoutMs and maxConcurrent; outside 1 s to 5 min it stops start-up naming the entry and the bounds', () => {
    const path = file('connect.json', { mcpServers: { files: { command: 'npx', args: ['-y', 'x'], connectTimeoutMs: 120_000, timeoutMs: 60_000 } } });
    expect(readServersFile(path, actor)[0].limits).to.deep.equal({ timeoutMs: 60_000, connectTimeoutMs: 120_000 });
    for (const [value, name] of [['500', 'low'], ['300001', 'high'], ['"10s"', 'text']]) {
      const bad = file(`connect-${name}.yaml`, `servers:\n  - name: web\n    url: https://mcp.example.com/mcp\n    connectTimeoutMs: ${value}\n`);
      expect(() => readServersFile(bad, actor), value).to.throw(/^MCP_SERVERS_FILE: servers\.0\.connectTimeoutMs: milliseconds, a whole number from 1000 \(1 s\) to 300000 \(5 min\)/);
    }
  });

  it('a key the gateway does not know (a typo, another client\'s setting) stops start-up naming it, where it was dropped in silence (a server started without its "arg")', () => {
    const path = file('typo.json', { mcpServers: { files: { command: 'npx', arg: ['-y', '@modelcontextprotocol/server-filesystem', '/srv'] } } });
    expect(() => readServersFile(path, actor)).to.throw(/^MCP_SERVERS_FILE: mcpServers\.files: unknown key "arg" \(an entry takes /);
    const listed = file('typo.yaml', 'servers:\n  - name: web\n    url: https://mcp.example.com/mcp\n    header:\n      Authorization: "Bearer ${env:T}"\n');
    expect(() => readServersFile(listed, actor)).to.throw(/^MCP_SERVERS_FILE: servers\.0: unknown key "header" \(an entry takes /);
  });

  it('a disabled entry still registered by an earlier start (the last release started disabled entries) is named at start, with how to remove it: it was left running without a word', async () => {
    const path = file('disabled-known.json', { mcpServers: { old: { command: 'npx', disabled: true }, never: { command: 'npx', disabled: true }, on: { command: 'npx' } } });
    const ensured: string[] = [];
    const lines: string[] = [];
    const gateway = {
      listServers: () => [{ id: 'srv_1', tenant: '*', name: 'old' }],
      holdListing: () => {},
      ensureServer: async (p: RegisterServerParameters) => void ensured.push(p.name),
    } as unknown as McpGateway;
    await registerAtStart(gateway, { MCP_SERVERS_FILE: path, OPENMCP_EXAMPLES: 'off' }, actor, { logger: { info: (m: string) => lines.push(m) } }).all;
    expect(ensured).to.deep.equal(['on']);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.match(/^MCP_SERVERS_FILE: mcpServers\.old is disabled, but old stays registered by an earlier start \(connected, its tools served\): remove it \(npx openmcp mcp servers remove old, DELETE \/v1\/mcp-servers\/srv_1\)$/);
  });

  it('Cline\'s and Roo Code\'s autoApprove and alwaysAllow (whether that client asks its user before a call) are read and ignored: a Cline config was refused for them', () => {
    const path = file('cline.json', { mcpServers: { files: { command: 'npx', args: ['-y', 'x'], autoApprove: ['read_file'], alwaysAllow: [], disabled: false } } });
    expect(readServersFile(path, actor).map((p) => [p.name, p.command])).to.deep.equal([['files', 'npx']]);
    expect(readServersFile(path, actor)[0]).to.not.have.any.keys('autoApprove', 'alwaysAllow');
  });

  it('another client\'s key the gateway cannot honour as written is refused with what to write instead, not only the list of keys', () => {
    const cases: [unknown, RegExp][] = [
      [{ command: 'npx', timeout: 60 }, /mcpServers\.s: "timeout" is in seconds in Cline and Roo Code: write "timeoutMs": 60000/],
      [{ url: 'https://mcp.example.com/sse', transportType: 'sse' }, /mcpServers\.s: "transportType" is not read: write "type": "sse"/],
      [{ command: 'npx', envFile: '${workspaceFolder}/.env' }, /mcpServers\.s: "envFile" is not read: give each variable in "env" as "\$\{env:NAME\}" and set NAME in the gateway's environment/],
      [{ command: 'npx', disabledTools: ['delete'] }, /mcpServers\.s: "disabledTools" is not read: the gateway serves every tool a server lists/],
      // Windsurf's name for a remote server's URL.
      [{ serverUrl: 'https://mcp.example.com/mcp' }, /mcpServers\.s: "serverUrl" is Windsurf's: write "url" \(an http\(s\) URL, its secrets as "\$\{env:NAME\}"\)/],
    ];
    for (const [entry, expected] of cases) {
      const path = file('other-client.json', { mcpServers: { s: entry } });
      expect(() => readServersFile(path, actor)).to.throw(expected);
    }
    // Every key at once: a typo beside them is named too.
    const several = file('other-client-several.json', { mcpServers: { s: { command: 'npx', timeout: 30, transportType: 'stdio', arg: [] } } });
    expect(() => readServersFile(several, actor)).to.throw(
      /^MCP_SERVERS_FILE: mcpServers\.s: "timeout" is in seconds in Cline and Roo Code: write "timeoutMs": 30000; "transportType" is not read: write "type": "stdio"; unknown key "arg" \(an entry takes tenant, /,
    );
  });

  it('VS Code\'s and Cursor\'s variables (${workspaceFolder}, ${env:NAME}) in command, args or cwd, and any but ${env:NAME} in url, are refused: the gateway would pass them as written', () => {
    for (const entry of [
      { command: 'npx', args: ['-y', 'x', '${workspaceFolder}'] },
      { command: 'npx', args: ['--token', '${env:GITHUB_TOKEN}'] },
      { command: '${userHome}/bin/server' },
      { command: 'npx', cwd: '${workspaceFolder}' },
      { url: 'https://mcp.example.com/${input:part}/mcp' },
      { url: 'https://mcp.example.com/mcp?key=${env:HOME}&dir=${workspaceFolder}' },
    ]) {
      const path = file('variables.json', { mcpServers: { s: entry } });
      expect(() => readServersFile(path, actor), JSON.stringify(entry)).to.throw(/^MCP_SERVERS_FILE: mcpServers\.s\.(command|args\.\d|cwd|url): "\$\{…\}" variables are not expanded there/);
    }
    // A url's ${env:NAME} is the gateway's (McpServerRegistered v6), resolved at each connect: taken as written.
    const url = file('url-reference.json', { mcpServers: { s: { url: 'https://mcp.example.com/${env:HOME}/mcp?api_key=${env:HOME}' } } });
    expect(readServersFile(url, actor)[0]!.url).to.equal('https://mcp.example.com/${env:HOME}/mcp?api_key=${env:HOME}');
    // A shell's own ${NAME} is the shell's to expand, as before.
    const shell = file('shell.json', { mcpServers: { s: { command: 'sh', args: ['-c', 'exec server --token "${TOKEN}" --dir "${DIR:-/srv}"'] } } });
    expect(readServersFile(shell, actor)[0]!.args).to.deep.equal(['-c', 'exec server --token "${TOKEN}" --dir "${DIR:-/srv}"']);
  });

  it('VS Code\'s form, a "servers" map with "type" (.vscode/mcp.json), is read as the mcpServers map is', () => {
    const path = file('vscode.json', {
      inputs: [],
      servers: { github: { type: 'http', url: 'https://api.githubcopilot.com/mcp/' }, files: { type: 'stdio', command: 'npx', args: ['-y', 'x'] } },
    });
    expect(readServersFile(path, actor).map((p) => [p.name, p.transport, p.url ?? p.command])).to.deep.equal([
      ['github', 'http', 'https://api.githubcopilot.com/mcp/'],
      ['files', 'stdio', 'npx'],
    ]);
    const bad = file('vscode-bad.json', { servers: { files: { type: 'stdio', comand: 'npx' } } });
    expect(() => readServersFile(bad, actor)).to.throw(/^MCP_SERVERS_FILE: servers\.files: unknown key "comand"/);
  });

  it('a file holding both an mcpServers map and servers is refused: one of them was read and the other left out without a word', () => {
    const path = file('both.json', { mcpServers: { files: { command: 'npx', args: ['-y', 'x'] } }, servers: { github: { type: 'http', url: 'https://api.githubcopilot.com/mcp/' } } });
    expect(() => readServersFile(path, actor)).to.throw(/^MCP_SERVERS_FILE: holds both "mcpServers" and "servers": keep one of them/);
  });
});

describe('MCP_SERVERS_FILE: a refusal names every problem of the file (up to five), each with its entry, line and column, as POLICY_FILE and CHAINS_FILE do', () => {
  let dir: string;
  const file = (name: string, content: string) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };
  const refusal = (path: string): string => {
    try {
      readServersFile(path, actor);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('not refused');
  };
  before(() => (dir = mkdtempSync(join(tmpdir(), 'omc-servers-file-all-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('three mistakes in a JSON file are all named, each where it is written, the other client\'s key still with what to write instead', () => {
    const path = file(
      'three.json',
      [
        '{',
        '  "mcpServers": {',
        '    "files": { "command": "npx", "arg": ["-y", "x"] },',
        '    "web": { "url": "https://mcp.example.com/mcp", "timeout": 30 },',
        '    "db": { "command": "db-mcp", "args": "--ro" }',
        '  }',
        '}',
      ].join('\n'),
    );
    const message = refusal(path);
    expect(message).to.match(/^MCP_SERVERS_FILE: /);
    expect(message).to.include('mcpServers.files: unknown key "arg" (an entry takes tenant, ');
    expect(message).to.match(/mcpServers\.files: unknown key "arg" \(an entry takes [^)]*\) \(line 3, column 34\)/);
    expect(message).to.include('mcpServers.web: "timeout" is in seconds in Cline and Roo Code: write "timeoutMs": 30000 (line 4, column 52)');
    expect(message).to.match(/mcpServers\.db\.args: [^;]* \(line 5, column 42\)/);
  });

  it("a key no entry takes and other entries' mistakes found after reading (a name, a client's variable, no command) are named together, in one start", () => {
    const path = file(
      'mixed.json',
      [
        '{"mcpServers": {',
        '  "files": {"command": "npx", "arg": ["x"]},',
        '  "Bad Name": {"url": "https://mcp.example.com/mcp"},',
        '  "vs": {"command": "node", "args": ["${workspaceFolder}/s.js"]},',
        '  "nocmd": {"args": ["x"]}',
        '}}',
      ].join('\n'),
    );
    const message = refusal(path);
    expect(message).to.match(/mcpServers\.files: unknown key "arg" \(an entry takes [^)]*\) \(line 2, column 31\)/);
    expect(message).to.include('mcpServers.Bad Name: name "Bad Name": lowercase letters, digits and -');
    expect(message).to.include('mcpServers.vs.args.0: "${…}" variables are not expanded there');
    expect(message).to.include('mcpServers.nocmd.transport: stdio needs a command');
    // In the file's order, as written.
    const order = ['mcpServers.files', 'mcpServers.Bad Name', 'mcpServers.vs', 'mcpServers.nocmd'].map((at) => message.indexOf(`${at}`));
    expect(order).to.deep.equal([...order].sort((a, b) => a - b));
  });

  it('in the list form, an entry after one the schema refuses is named by its own index and line (it was named as the entry before it)', () => {
    const path = file(
      'list-mixed.json',
      ['{"servers": [', '  {"name": "a", "command": "npx", "arg": ["x"]},', '  {"name": "Bad Name", "url": "https://mcp.example.com/mcp"}', ']}'].join('\n'),
    );
    const message = refusal(path);
    expect(message).to.match(/servers\.0: unknown key "arg" \(an entry takes [^)]*\) \(line 2, column 35\)/);
    expect(message).to.include('servers.1: name "Bad Name": lowercase letters, digits and -');
    expect(message).to.match(/servers\.1: name "Bad Name": [^;]* \(line 3, column 12\)$/);
    expect(message).to.not.match(/servers\.0: name/);
  });

  it('an mcpServers written as a list is refused as such, without naming entries of a "servers" the file does not have', () => {
    const message = refusal(file('mcp-list.json', '{"mcpServers": [{"name": "Bad Name", "url": "https://mcp.example.com/mcp"}]}'));
    expect(message).to.match(/^MCP_SERVERS_FILE: mcpServers: [^;]*expected record, received array \(line 1, column 16\)$/);
  });

  it('three mistakes in a YAML file are all named with their lines and columns, a value under env never shown (a secret may be written there as such)', () => {
    const path = file(
      'three.yaml',
      [
        'servers:',
        '  - name: files',
        '    command: npx',
        '    arg: [-y, x]',
        '  - name: db',
        '    command: db-mcp',
        '    env:',
        '      PIN: 918273645',
        '  - name: web',
        '    url: https://mcp.example.com/mcp',
        '    transport: websocket',
      ].join('\n'),
    );
    const message = refusal(path);
    expect(message).to.match(/servers\.0: unknown key "arg" \(an entry takes [^)]*\) \(line 4, column 5\)/);
    expect(message).to.match(/servers\.1\.env\.PIN: expected text, but the file gives the number \(YAML reads [^;]* \(line 8, column 12\)/);
    expect(message).to.match(/servers\.2\.transport: [^;]* \(line 11, column 16\)/);
    expect(message).to.not.include('918273645');
  });

  it('entries the gateway would refuse are all named too, each with its line and column (no command, a name it does not take, a client variable)', () => {
    const path = file(
      'refused.yaml',
      ['mcpServers:', '  bad:', '    type: http', '  My Files:', '    command: npx', '  ws:', '    command: npx', '    args: ["${workspaceFolder}"]'].join('\n'),
    );
    const message = refusal(path);
    expect(message).to.match(/mcpServers\.bad\.transport: stdio needs a command; http and sse need a url \(line 3, column 5\)/);
    expect(message).to.match(/mcpServers\.My Files: name "My Files": lowercase letters, digits and -[^;]* \(line 4, column 3\)/);
    expect(message).to.match(/mcpServers\.ws\.args\.0: "\$\{…\}" variables are not expanded there [^;]*; "\$\{env:NAME\}" is read in "env", "headers" and "url" only \(line 8, column 12\)/);
  });

  it('a name the registry does not take is placed where the name is written: the entry\'s key (a map), its name field (a list)', () => {
    expect(refusal(file('name-map.yaml', 'mcpServers:\n  files:\n    command: npx\n  My Files:\n    command: npx\n'))).to.match(/name "My Files": [^;]* \(line 4, column 3\)$/);
    expect(refusal(file('name-list.yaml', 'servers:\n  - command: npx\n    name: My Files\n'))).to.match(/name "My Files": [^;]* \(line 3, column 11\)$/);
  });

  it('an entry with a missing variable and a name the registry does not take gets both named (one restart, not two)', () => {
    const message = refusal(file('name-and-env.yaml', 'mcpServers:\n  My Files:\n    command: npx\n    env:\n      K: "${env:OMC_REV_SERVERSFILE_UNSET}"\n'));
    expect(message).to.match(/mcpServers\.My Files\.env\.K: environment variable OMC_REV_SERVERSFILE_UNSET is not set/);
    expect(message).to.match(/mcpServers\.My Files: name "My Files": lowercase letters/);
  });

  it('past five problems it says how many more there are', () => {
    const entries = Array.from({ length: 7 }, (_, i) => `  s${i}:\n    command: npx\n    arg: []`).join('\n');
    const message = refusal(file('seven.yaml', `mcpServers:\n${entries}\n`));
    expect(message.match(/unknown key "arg"/g)).to.have.length(5);
    expect(message).to.match(/; and 2 more$/);
  });
});
