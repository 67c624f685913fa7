import { readFileSync } from 'node:fs';
import * as secp from '@noble/secp256k1';
import { loadOrCreateKeyFile } from '../core/key-file';
import { toHex } from '../core/hex';
import { OpenMcpError } from '../core/errors';
import type { OpenMcpClient } from '../sdk/client';
import { SealedAnswerError } from '../core/sealed-answer';
import { printableJson, printableText } from './printable';
import { reportCliError, stdout, type Writer } from './tasks';

export type TasksAnswerOptions = {
  /** A file holding the answerRecipient's private key (`--key`). */
  keyFile?: string;
  /** The private key itself (OPENMCP_ANSWER_KEY), when no file is given. */
  key?: string;
  json?: boolean;
};

function privateKeyOf(o: TasksAnswerOptions): string | undefined {
  if (o.keyFile === undefined) return o.key;
  try {
    return readFileSync(o.keyFile, 'utf8');
  } catch (err) {
    throw new OpenMcpError('SEALED_ANSWER_KEY_INVALID', `cannot read the key file ${o.keyFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { status: 400 });
  }
}

/**
 * `openmcp tasks answer <id> [--key FILE] [--json]`: the task's final answer on stdout. Under
 * LLM_REDACTION=hash-only it is opened here from the task's sealedAnswer with the recipient's
 * private key (FILE, else OPENMCP_ANSWER_KEY; it never leaves this process) and checked against
 * the signed answerHash: exit 1, with the error on stderr, when it does not open or check.
 */
export async function runTasksAnswer(client: OpenMcpClient, id: string, o: TasksAnswerOptions = {}, out: Writer = stdout): Promise<number> {
  try {
    const a = await client.tasks.answer(id, { privateKey: privateKeyOf(o) });
    // The model's words, which tool output may have steered: its lines kept, escape sequences not.
    out(o.json ? printableJson({ id, ...a }) : printableText(a.answer));
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}

/** The key pair's file, read or made; the system's error (EISDIR, EACCES) named with the file, as privateKeyOf does. */
function keyFileOf(file: string): { key: string; created: boolean } {
  const check = (text: string) => {
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(text) || !secp.utils.isValidSecretKey(Buffer.from(text.replace(/^0x/, ''), 'hex'))) {
      throw new SealedAnswerError('SEALED_ANSWER_KEY_INVALID', `${file} does not hold a secp256k1 private key (64 hex digits, 0x optional)`);
    }
  };
  try {
    return loadOrCreateKeyFile(file, () => toHex(secp.utils.randomSecretKey()), check);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof OpenMcpError || typeof code !== 'string') throw err;
    throw new OpenMcpError('SEALED_ANSWER_KEY_INVALID', `cannot read or write the key file ${file}: ${code}`, { status: 400 });
  }
}

/**
 * `openmcp tasks answer-key --key FILE`: the key pair to submit tasks with (`answerRecipient`):
 * the private key is made and written to FILE (mode 0600) unless FILE holds one already; the
 * public key, to give as answerRecipient, is printed (alone on stdout).
 */
export function runTasksAnswerKey(o: { keyFile: string }, out: Writer = stdout): number {
  try {
    const { key, created } = keyFileOf(o.keyFile);
    out(toHex(secp.getPublicKey(Buffer.from(key.replace(/^0x/, ''), 'hex'), true)));
    // On stderr from the command line, so `$(openmcp tasks answer-key --key FILE)` is the public key alone.
    const note: Writer = out === stdout ? (l) => console.error(l) : out;
    if (created) note(`(a new private key is in ${o.keyFile}, mode 0600: keep it, and a copy, safe — an answer sealed to it opens with nothing else)`);
    return 0;
  } catch (err) {
    return reportCliError(err, out);
  }
}
