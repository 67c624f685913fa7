import { writeFile } from 'node:fs/promises';

/** Where a saved answer goes without --out: stdout, as it came (no newline added). */
export const rawStdout = (text: string): void => void process.stdout.write(text);

/**
 * Write `text`, an API answer as the server wrote it (a proof file, a batch export), to `file`
 * (created or replaced), or with no file to `raw`. Resolves to why it could not, else undefined.
 * Call it only once the answer came: an error answer must never take the file's place.
 * @example await saveAnswer(text, 'proof.json', rawStdout) // undefined, proof.json written
 */
export async function saveAnswer(text: string, file: string | undefined, raw: (text: string) => void): Promise<string | undefined> {
  if (file === undefined) {
    raw(text);
    return undefined;
  }
  try {
    await writeFile(file, text);
    return undefined;
  } catch (err) {
    return `cannot write ${file}: ${(err as Error).message}`;
  }
}

/**
 * The pins of the `verify` / `verify-batch` command suggested once a file is saved: named apart,
 * with where an auditor gets them (docs/proofs.md §7: the operator publishes both; `openmcp start`
 * prints its AuditAnchor and Sealer lines), not two placeholders both called ADDR.
 */
export const VERIFY_PINS =
  '--contract ANCHOR --signer SEALER (ANCHOR, SEALER: the AuditAnchor and sealer addresses the operator publishes, printed by openmcp start)';
