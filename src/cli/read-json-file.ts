import { readFile } from 'node:fs/promises';
import { duplicateJsonKey } from '../core/json-duplicate-key';

/**
 * The JSON in `file` (a proof file, a batch export), or why no check can judge it, for a
 * `FAILED: …` line and exit 2: it cannot be read, is not JSON, or names a key twice in one object.
 * JSON.parse keeps the last of two equal keys and other readers the first, so such a file would
 * pass with the copies the checks saw while showing a reader the others. `what` says what one
 * file should be: "a proof of one event".
 * @example await readJsonFile('proof.json', 'a proof of one event') // { value: {...} } or { problem: 'cannot read proof.json: …' }
 */
export async function readJsonFile(file: string, what: string): Promise<{ value: unknown; problem?: undefined } | { problem: string }> {
  let text: string;
  let value: unknown;
  try {
    text = await readFile(file, 'utf8');
    value = JSON.parse(text);
  } catch (err) {
    return { problem: `cannot read ${file}: ${(err as Error).message}` };
  }
  const twice = duplicateJsonKey(text);
  if (twice) {
    return {
      problem: `${file} names ${twice.key.slice(0, 200)} twice in one object (the second at line ${twice.line}, column ${twice.column}): JSON readers differ on which one counts, so it is not ${what}; get the file again`,
    };
  }
  return { value };
}
