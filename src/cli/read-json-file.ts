import { readFile, stat } from 'node:fs/promises';
import { withoutByteOrderMark } from '../core/byte-order-mark';
import { duplicateJsonKey, duplicateJsonKeyText } from '../core/json-duplicate-key';

const MiB = 1024 * 1024;
/** V8's longest string is 2^29 - 24 UTF-16 units; a file of at most that many bytes always fits. */
const NODE_TEXT_LIMIT = 512 * MiB;

/** What one file should be, for the words and the size limit of readJsonFile. */
export type JsonFileKind = {
  /** "a proof of one event" */
  what: string;
  /** Larger files are refused from their size, unread; at most (and by default) the 512 MiB Node can read as one string. */
  maxBytes?: number;
  /** What to say of a larger file, after its size (and, past 512 MiB, that Node cannot read it): "more than a proof file can be (…)". */
  tooLarge: string;
};

/**
 * The JSON in `file` (a proof file, a batch export), or why no check can judge it, for a
 * `FAILED: …` line and exit 2: it is larger than it can be (refused from its size, before reading
 * hundreds of MB into memory), cannot be read, is not JSON, or names a key twice in one object.
 * JSON.parse keeps the last of two equal keys and other readers the first, so such a file would
 * pass with the copies the checks saw while showing a reader the others.
 * @example await readJsonFile('proof.json', { what: 'a proof of one event' }) // { value: {...} } or { problem: 'cannot read proof.json: …' }
 */
export async function readJsonFile(file: string, kind: JsonFileKind): Promise<{ value: unknown; problem?: undefined } | { problem: string }> {
  let text: string;
  try {
    const { size } = await stat(file);
    const max = Math.min(kind.maxBytes ?? NODE_TEXT_LIMIT, NODE_TEXT_LIMIT);
    if (size > max) {
      const limit = max === NODE_TEXT_LIMIT ? `more than Node reads as one JSON text (${NODE_TEXT_LIMIT / MiB} MiB): ` : '';
      return { problem: `${file} is ${Math.round(size / MiB)} MiB, ${limit}${kind.tooLarge}` };
    }
    text = await readFile(file, 'utf8');
  } catch (err) {
    return { problem: `cannot read ${file}: ${(err as Error).message}` };
  }
  return parseJsonText(text, file, kind.what);
}

/**
 * readJsonFile's checks on a text already in hand (a batch export as the gateway sent it): the JSON
 * in `text`, or why it is not `what`, naming it as `source` and saying what to do (`again`).
 * @example parseJsonText('{"a":1,"a":2}', 'the export', 'an export of one batch') // { problem: 'the export names "a" twice …' }
 */
export function parseJsonText(text: string, source: string, what: string, again = 'get the file again'): { value: unknown; problem?: undefined } | { problem: string } {
  let value: unknown;
  // The browser verifier's File.text() drops a leading byte order mark too.
  const json = withoutByteOrderMark(text);
  try {
    value = JSON.parse(json);
  } catch (err) {
    return { problem: `cannot read ${source}: ${(err as Error).message}` };
  }
  const twice = duplicateJsonKey(json);
  if (twice) {
    return {
      problem: `${source} ${duplicateJsonKeyText(twice)}: JSON readers differ on which one counts, so it is not ${what}; ${again}`,
    };
  }
  return { value };
}
