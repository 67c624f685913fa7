import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from './free-port';

export type RedisServerProcess = {
  url: string;
  /** Write the RDB snapshot now (SAVE): what the next start loads. */
  snapshot(): Promise<void>;
  /**
   * Stop without saving (SHUTDOWN NOSAVE) and start again from the last snapshot: a restart
   * from an older RDB, or with AOF `everysec` after its last second was lost. Clients' connections
   * are closed, as in any restart.
   */
  restartFromSnapshot(): Promise<void>;
  stop(): Promise<void>;
};

/** Throws when this machine has no redis-server (use with requireService). */
export function redisServerInstalled(): Promise<void> {
  const r = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? Promise.resolve() : Promise.reject(new Error(`redis-server not runnable: ${r.error?.message ?? r.stderr}`));
}

/**
 * A redis-server of the test's own, on a free port of 127.0.0.1, persisting to a directory of its
 * own (RDB only, no automatic saves): the machine's shared Redis must never be restarted by a test.
 */
export async function startRedisServer(): Promise<RedisServerProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'omc-redis-'));
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const launch = async () => {
    const c = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    child = c;
    const exited = new Promise<never>((_, reject) => c.once('exit', (code) => reject(new Error(`redis-server exited early (${code})`))));
    exited.catch(() => undefined);
    // Ready once it answers (it has loaded its snapshot by then: PING waits for the load).
    for (let i = 0; ; i++) {
      const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined); // refused until the server listens: connect() rejects with it
      try {
        await Promise.race([probe.connect().then(() => probe.ping()), exited]);
        return;
      } catch (err) {
        if (i >= 100 || c.exitCode !== null) throw err;
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        probe.disconnect();
      }
    }
  };

  const shutdown = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return; // stopped already (killed: no exit code)
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill('SIGKILL');
    await gone;
  };

  const command = async <T>(fn: (r: Redis) => Promise<T>) => {
    const r = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      return await fn(r);
    } finally {
      r.disconnect();
    }
  };

  await launch();
  return {
    url,
    snapshot: () => command((r) => r.save()).then(() => undefined),
    async restartFromSnapshot() {
      // SIGKILL saves nothing, as SHUTDOWN NOSAVE: the next start loads the last snapshot.
      await shutdown();
      await launch();
    },
    async stop() {
      await shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
