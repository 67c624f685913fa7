/**
 * A stdio "MCP server" that fails at start the way real ones do, its own text holding secrets
 * (a DSN with its password, an API key): `exit` writes them to stderr and exits with code 7
 * before answering anything; `refuse` answers initialize with a JSON-RPC error whose message
 * holds them, and stays up; `version` answers it with a protocol version the client does not
 * speak, made of them (which the SDK's error quotes). For tests that the gateway keeps such text
 * out of what it records.
 */
import { createInterface } from 'node:readline';

export const FAILING_START_SECRETS = { token: 'sk_live_HEALTH_4711', password: 'pw-HEALTH-0815' } as const;
const { token, password } = FAILING_START_SECRETS;
const text = `postgres://app:${password}@db.internal/app with key ${token}`;

if (require.main === module) {
  if (process.argv[2] === 'exit') {
    process.stderr.write('starting\n');
    process.stderr.write(`FATAL: could not connect to ${text}\n`, () => process.exit(7));
  } else {
    createInterface({ input: process.stdin }).on('line', (line) => {
      const msg = JSON.parse(line) as { id?: number; method?: string };
      if (msg.method !== 'initialize' || msg.id === undefined) return;
      const answer =
        process.argv[2] === 'version'
          ? { result: { protocolVersion: `${token}-${password}`, capabilities: {}, serverInfo: { name: 'odd', version: '1' } } }
          : { error: { code: -32603, message: `license check failed for ${text}` } };
      process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', id: msg.id, ...answer })}\n`);
    });
  }
}
