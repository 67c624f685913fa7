/** A key that one JSON object names twice: the key as written (its JSON string token) and where the second one starts (1-based). */
export type DuplicateJsonKey = { key: string; line: number; column: number };

/**
 * The words for such a key, the same wherever a file is refused for one.
 * @example duplicateJsonKeyText({ key: '"a"', line: 1, column: 10 }) === 'names "a" twice in one object (the second at line 1, column 10)'
 */
export function duplicateJsonKeyText(twice: DuplicateJsonKey): string {
  return `names ${twice.key.slice(0, 200)} twice in one object (the second at line ${twice.line}, column ${twice.column})`;
}

/**
 * The first key that an object of `text` names twice, or undefined. Requires `text` to be JSON that
 * JSON.parse accepts (call it after JSON.parse): the scan then only tracks strings and brackets.
 * Keys are compared as parsed, so `"a"` and `"\u0061"` are the same key.
 *
 * Why not a library: the `yaml` parser finds such keys too, but took 7 s and 350 MB of heap for a
 * 7 MB batch export, which this scan reads at JSON.parse's pace. Used for proof files, batch
 * exports and the JSON settings files (parseSettingsText).
 * The dashboard's verifier has a twin (ui/app/verify/json-duplicate-key.js).
 * @example duplicateJsonKey('{"a": 1, "a": 2}') // { key: '"a"', line: 1, column: 10 }
 */
export function duplicateJsonKey(text: string): DuplicateJsonKey | undefined {
  // One entry per open bracket: the keys seen so far in an object, null for an array.
  const open: (Set<string> | null)[] = [];
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      const keys = open[open.length - 1];
      if (keyNext && keys) {
        const token = text.slice(i, end + 1);
        const key = JSON.parse(token) as string;
        if (keys.has(key)) {
          const before = text.slice(0, i);
          const line = before.split('\n').length;
          return { key: token, line, column: i - before.lastIndexOf('\n') };
        }
        keys.add(key);
      }
      keyNext = false;
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      keyNext = true;
    } else if (c === '[') {
      open.push(null);
    } else if (c === '}' || c === ']') {
      open.pop();
    } else if (c === ',') {
      // In an object a comma is followed by a key; in an array by a value.
      keyNext = open[open.length - 1] != null;
    }
  }
  return undefined;
}

/** The index of the quote that closes the JSON string opening at `start`: the next one not escaped by an odd run of backslashes. */
function stringEnd(text: string, start: number): number {
  for (let j = start + 1; ; j++) {
    j = text.indexOf('"', j);
    if (j < 0) return text.length; // unterminated: not JSON, which the precondition rules out
    let slashes = 0;
    while (text[j - 1 - slashes] === '\\') slashes++;
    if (slashes % 2 === 0) return j;
  }
}
