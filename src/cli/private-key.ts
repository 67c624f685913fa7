import { readFileSync } from 'node:fs';
import { OpenMcpError } from '../core/errors';
import { UsageError } from './usage-error';
import type { Hex } from '../core/hex';
import { HEX_KEY, isPrivateKey } from '../core/private-key';

/**
 * `key` as a secp256k1 private key, or VALIDATION_FAILED naming `source` (never the key): 0x and 64
 * hex digits, and between 1 and the curve order (ethers takes 0 or ≥ n and fails later with a
 * stack trace from the curve library). `source` is an option or its variable (`be`): a UsageError
 * (exit 2); or a file holding the key (`hold`): what the file holds fails the command (exit 1).
 */
export function checkedPrivateKey(key: string, source: string, verb: 'be' | 'hold' = 'be'): Hex {
  const refuse = (message: string) => (verb === 'be' ? new UsageError(message, { field: source }) : new OpenMcpError('VALIDATION_FAILED', message, { status: 400 }));
  if (!HEX_KEY.test(key)) throw refuse(`${source} must ${verb} 0x and 64 hex digits`);
  if (!isPrivateKey(key)) {
    const what = verb === 'be' ? 'is not' : 'does not hold';
    throw refuse(`${source} ${what} a secp256k1 private key (it must be above 0 and below the curve order)`);
  }
  return key as Hex;
}

/**
 * The key of `openmcp contracts admin begin|accept|cancel`: `--private-key` on the command line,
 * or `--private-key-file`, a file holding it (which keeps it out of the process list and the
 * shell's history); exactly one of them.
 */
export function privateKeyFromOptions(o: { privateKey?: string; privateKeyFile?: string }, command: string): Hex {
  if (o.privateKey !== undefined && o.privateKeyFile !== undefined) {
    throw new UsageError('give the key in --private-key or in --private-key-file, not both', { field: 'privateKey' });
  }
  if (o.privateKeyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(o.privateKeyFile, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new OpenMcpError('VALIDATION_FAILED', `--private-key-file ${o.privateKeyFile} cannot be read (${code})`, { status: 400 });
    }
    return checkedPrivateKey(text.trim(), `--private-key-file ${o.privateKeyFile}`, 'hold');
  }
  if (o.privateKey !== undefined) return checkedPrivateKey(o.privateKey, '--private-key');
  throw new UsageError(`${command} needs the key in --private-key-file FILE (or --private-key)`, { field: 'privateKey' });
}
