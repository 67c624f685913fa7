import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { openStores } from '../app/open-stores';
import { cachedSubjectKeys } from '../erasure/cached-subject-keys';
import { SqlSubjectKeyStore } from '../erasure/sql-subject-key-store';
import { can, createAuthenticator, createJwtVerifier, ForbiddenError, hashApiKey, isCredentialRevoked, storeAdminKeyIfAbsent, SqlKeyStore, UnauthenticatedError, type KeyStore, type Principal } from '../auth';
import { redactUrl, UnavailableError } from '../core/errors';
import { UsageError } from './usage-error';
import type { Config } from '../config';
import type { DestinationStream, Logger } from 'pino';
import { createLogger } from '../api/logger';
import { stdoutLogDestination } from '../api/stdout-log-destination';
import { stderrThroughLog } from './stderr-through-log';
import { createGateway } from '../app/gateway';
// Not the '../mcp' barrel: it loads /mcp's HTTP side (fastify, the SDK's HTTP transports), which
// stdio never uses, before the MCP host's initialize can be answered.
import { runGatewayStdio } from '../mcp/gateway-stdio';
import { readServersFile } from '../mcp/servers-file';
import { checkModelFiles } from '../search/embedder';
import { registerAtStart } from '../app/register-at-start';
import { refuseOtherPayloadPolicy } from '../db/gateway-settings';

const SYSTEM_ACTOR = { kind: 'system' as const, id: 'openmcp' };

/**
 * Unlike the other client commands, `mcp stdio` takes no admin key by default: it is started by
 * an MCP host (a desktop app, an IDE) on behalf of a model, and every call it makes is audited
 * under its key. A host config should name a key of its own, of the least role that can call
 * tools (agent) in one tenant, not borrow the cross-tenant admin key lying in DATA_DIR.
 */
const NO_KEY =
  'mcp stdio needs --key or OPENMCP_API_KEY: the API key the MCP client acts as (its calls are audited under it). ' +
  'It does not fall back to OPENMCP_ADMIN_KEY or DATA_DIR/admin.key, so that an MCP host is given a key of its own with the least role: ' +
  'make one with `openmcp keys create --role agent --tenant <tenant>` and put it in the host config (env OPENMCP_API_KEY).';

/** How long a key found valid is trusted before it is looked up again: the authenticator's cache TTL. */
const KEY_RECHECK_MS = 5_000;

const RESTART = 'restart this MCP server (the host starts it) with a valid one (--key or OPENMCP_API_KEY)';

/**
 * Where a refused key was looked for. `mcp stdio` is no client of a running gateway: it runs one
 * on the database itself, and an MCP host starts it in a directory of its own, where DATA_DIR
 * (./data) is a fresh database that holds no key — "API key not valid" alone sent people to check
 * a key that was fine.
 */
function whereKeysAre(config: Config): string {
  const from = config.DATABASE_URL ? 'DATABASE_URL' : `DATA_DIR ${config.dataDir}`;
  return (
    `checked in the database at ${config.databaseUrl.startsWith('sqlite:') ? config.databaseUrl : redactUrl(config.databaseUrl)} (from ${from}): mcp stdio runs the gateway on that database itself, not through OPENMCP_URL; ` +
    "give it the running gateway's DATA_DIR (or DATABASE_URL) and a key of that gateway"
  );
}

/**
 * An embedded database that does not exist yet holds no API key, and without OPENMCP_ADMIN_KEY or
 * JWT settings no key can be valid in it: refuse before opening it, which would create and migrate
 * a database in the MCP host's directory (./data of wherever the host starts us) and leave it there.
 */
function refuseWhereNoKeyCanBe(config: Config): void {
  if (!config.databaseUrl.startsWith('sqlite:') || config.OPENMCP_ADMIN_KEY) return;
  if (config.JWT_SECRET || config.JWT_PUBLIC_KEY_FILE || config.JWT_JWKS_FILE) return;
  const file = config.databaseUrl.slice('sqlite:'.length);
  if (file === ':memory:' || existsSync(file)) return;
  throw new UnauthenticatedError(`API key not valid: ${whereKeysAre(config)} (no database there, so none was created)`);
}

/**
 * Whether the principal a stdio session acts as still may: checked before each tools/list and
 * tools/call, as /mcp authenticates each request. Its key was checked once, at start, and an MCP
 * host keeps the process running for days: a key revoked since (by another process, so no cache
 * of this one would learn it) or a token past its expiry must not go on calling tools.
 */
function stillValid(keys: KeyStore, apiKey: string, principal: Principal, cacheMs = KEY_RECHECK_MS): () => Promise<void> {
  let vouchedAt = -Infinity;
  return async () => {
    const now = Date.now();
    if (principal.expiresAt !== undefined && principal.expiresAt < now) {
      throw new UnauthenticatedError(`the token this MCP server acts as has expired: ${RESTART}`);
    }
    // As long as the API's authenticator trusts a looked-up key (its cache): not a store round
    // trip per call, and a revocation is seen as soon as on /mcp.
    if (principal.via !== 'api-key' || now - vouchedAt < cacheMs) return;
    // Looked up by the key itself, as the authenticator does: the bootstrap admin key is never
    // revoked but replaced (a new OPENMCP_ADMIN_KEY), and its row keeps the id with another hash.
    let revoked: boolean;
    try {
      revoked = await isCredentialRevoked(keys, { actor: principal.actor, credential: hashApiKey(apiKey) });
    } catch (err) {
      throw new UnavailableError('api key store', `the key this MCP server acts as could not be checked: ${(err as Error).message}`, err);
    }
    if (revoked) throw new UnauthenticatedError(`the API key this MCP server acts as was revoked (or, the bootstrap admin key, replaced): ${RESTART}`);
    vouchedAt = now;
  };
}

/**
 * The log of `mcp stdio`, on stderr (stdout carries the protocol): as `start`'s on stdout, at most
 * LOG_BUFFER_MAX_BYTES of lines held for a reader that does not take them, the rest dropped and
 * said (an MCP host that never reads the server's stderr would otherwise grow this process without
 * bound). At LOG_LEVEL info it logs warnings and errors only.
 * @example stdioLogger(config).warn('…')
 */
export function stdioLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_BUFFER_MAX_BYTES'>, dest: DestinationStream = stdoutLogDestination({ fd: 2, maxQueuedBytes: config.LOG_BUFFER_MAX_BYTES })): Logger {
  return createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, dest);
}

/**
 * `openmcp mcp stdio`: the gateway over stdin/stdout for a local MCP client, acting as the
 * principal of `apiKey` (every call audited in the same log as the server's), which must hold
 * `mcp:call` as on /mcp. Logs go to stderr, because stdout carries the protocol.
 * `io.ownsStderr` (the `openmcp mcp stdio` process, not a test's): every other write to stderr in
 * the process (console.error of a dependency, Node's warnings) goes through the log's bound too.
 */
export async function runMcpStdio(config: Config, apiKey: string | undefined, io: { stdin?: Readable; stdout?: Writable; keyRecheckMs?: number; ownsStderr?: boolean } = {}): Promise<void> {
  if (!apiKey) throw new UsageError(NO_KEY, { field: 'key' });
  const dest = stdoutLogDestination({ fd: 2, maxQueuedBytes: config.LOG_BUFFER_MAX_BYTES });
  if (io.ownsStderr) stderrThroughLog(dest);
  const logger = stdioLogger(config, dest);
  refuseWhereNoKeyCanBe(config);
  // As `openmcp start` does, before the database is opened or the admin key stored: a host's
  // misconfigured launch leaves nothing behind (read again when the gateway is built and registers).
  if (config.MCP_SERVERS_FILE) readServersFile(config.MCP_SERVERS_FILE, SYSTEM_ACTOR);
  if (config.EMBEDDING_MODEL_DIR) checkModelFiles(config.EMBEDDING_MODEL_DIR, config.EMBEDDING_MODEL_ID);
  // And JWT settings: a key file it cannot read, or jose (loaded only with them) missing or broken.
  const jwt = createJwtVerifier(config);
  const stores = await openStores(config);
  try {
    // Its settings are its own, not the running gateway's: calls recorded under another payload
    // policy than the gateway's (store, in clear, by default) are refused before anything is stored.
    await refuseOtherPayloadPolicy(stores.knex, config);
    const keys = new SqlKeyStore(stores.knex);
    // A fresh DATA_DIR works with OPENMCP_ADMIN_KEY, as after `openmcp start`; but the host's
    // environment never replaces the running gateway's admin key nor writes DATA_DIR/admin.key.
    await storeAdminKeyIfAbsent(config, keys);
    const auth = createAuthenticator({ keys, jwt });
    const principal = await auth.authenticate(`Bearer ${apiKey}`).catch((err: unknown) => {
      throw err instanceof UnauthenticatedError ? new UnauthenticatedError(`${err.message}: ${whereKeysAre(config)}`) : err;
    });
    if (!can(principal.role, 'mcp:call')) throw new ForbiddenError(`a ${principal.role} key may not call tools (mcp:call; docs/security.md): use an agent or operator key`);
    const gateway = await createGateway({ config, store: stores.store, cache: stores.cache, logger, subjectKeys: cachedSubjectKeys(new SqlSubjectKeyStore(stores.knex)) });
    await gateway.start();
    try {
      // In the background, as `openmcp start` does: an MCP host gives up on a server slow to answer initialize.
      const { all } = registerAtStart(gateway, config, SYSTEM_ACTOR, { logger });
      // Refused at start as before (a registration the gateway refuses, the store failing), after
      // answering: the session ends and the command fails with it.
      let failure: { err: unknown } | undefined;
      let stop = () => {};
      void all.catch((err: unknown) => {
        failure ??= { err };
        stop();
      });
      const authorize = stillValid(keys, apiKey, principal, io.keyRecheckMs);
      const session = await runGatewayStdio(gateway, { tenant: principal.tenant, actor: principal.actor }, { stdin: io.stdin, stdout: io.stdout, authorize });
      stop = () => void session.close().catch(() => {});
      if (failure) stop();
      await session.closed;
      if (failure) throw failure.err;
    } finally {
      await gateway.close();
    }
  } finally {
    await stores.close();
  }
}
