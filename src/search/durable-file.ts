import { closeSync, fsyncSync, openSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';

/** Flush a file (or a directory's entries) to the disk: a rename is only durable once both are. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Move a fully written and fsynced `tmp` over `path`, then fsync the directory so the rename
 * itself survives a power loss. Requires `tmp` and `path` in the same directory (rename is atomic
 * only within one file system): a reader sees the old file or the new one, never a mix.
 */
export function durableRename(tmp: string, path: string): void {
  renameSync(tmp, path);
  fsyncPath(dirname(path));
}
