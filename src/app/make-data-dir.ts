import { mkdirSync } from 'node:fs';
import { ConfigError } from '../core/errors';

/** Why mkdir could not make DATA_DIR, by its error code, said as the setting's problem. */
const DATA_DIR_PROBLEMS: Readonly<Record<string, string>> = {
  EEXIST: 'is a file, not a directory',
  ENOTDIR: 'cannot be made: a part of its path is a file, not a directory',
  // recursive mkdir makes every missing part: one it still finds missing is a link to nowhere (a volume not mounted?).
  ENOENT: 'cannot be made: it, or a part of its path, is a symbolic link to a path that does not exist',
  EACCES: 'cannot be made: this process lacks the permission',
  EPERM: 'cannot be made: this process lacks the permission',
  EROFS: 'cannot be made: the file system is read-only',
};

/**
 * Makes DATA_DIR (owner only: it holds admin.key and the other key files, and, embedded, the whole
 * log), saying a path it cannot make as the setting to fix rather than as mkdir's errno.
 * @example makeDataDir('/tmp/proof.json') // throws 'DATA_DIR: /tmp/proof.json is a file, not a directory: …'
 */
export function makeDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const why = DATA_DIR_PROBLEMS[(err as NodeJS.ErrnoException).code ?? ''];
    if (!why) throw err;
    throw new ConfigError(`DATA_DIR: ${dir} ${why}: set DATA_DIR to a directory (it is made if missing)`, { variable: 'DATA_DIR' });
  }
}
