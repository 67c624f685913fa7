import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpenMcpClient } from './client';

export type ClientEnvironment = {
  env?: NodeJS.ProcessEnv;
  /** From loadConfig: where a local server listens and keeps admin.key. */
  config?: { HOST: string; PORT: number; dataDir: string };
};

/**
 * The client the CLI uses: OPENMCP_URL (else the local server at HOST:PORT), and the first of
 * OPENMCP_API_KEY, OPENMCP_ADMIN_KEY, DATA_DIR/admin.key as credentials.
 */
export function clientFromEnvironment(o: ClientEnvironment = {}): OpenMcpClient {
  const env = o.env ?? process.env;
  const host = !o.config || o.config.HOST === '0.0.0.0' || o.config.HOST === '::' ? '127.0.0.1' : o.config.HOST;
  const baseUrl = env.OPENMCP_URL || `http://${host.includes(':') ? `[${host}]` : host}:${o.config?.PORT ?? 8080}`;
  let apiKey = env.OPENMCP_API_KEY || env.OPENMCP_ADMIN_KEY || undefined;
  let keySource = env.OPENMCP_API_KEY ? 'OPENMCP_API_KEY' : env.OPENMCP_ADMIN_KEY ? 'OPENMCP_ADMIN_KEY (OPENMCP_API_KEY is not set)' : undefined;
  // Named when missing: a gateway started with another DATA_DIR keeps its key elsewhere.
  let missing = 'DATA_DIR/admin.key';
  if (!apiKey && o.config) {
    const file = join(o.config.dataDir, 'admin.key');
    if (existsSync(file)) {
      apiKey = readFileSync(file, 'utf8').trim();
      keySource = `${file} (neither OPENMCP_API_KEY nor OPENMCP_ADMIN_KEY is set)`;
    } else missing = `${file} (DATA_DIR/admin.key: a gateway started with another DATA_DIR keeps it there, one given OPENMCP_ADMIN_KEY keeps none)`;
  }
  return new OpenMcpClient({ baseUrl, baseUrlSource: env.OPENMCP_URL ? 'OPENMCP_URL' : 'the gateway URL from HOST and PORT', apiKey, keySource: keySource ?? `nowhere: neither OPENMCP_API_KEY nor OPENMCP_ADMIN_KEY is set, and there is no ${missing}` });
}
