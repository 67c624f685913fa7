// A key that one JSON object names twice: JSON.parse keeps the last copy, other readers the first,
// so a dropped proof file naming one would pass with the copies the checks saw while showing a
// reader others. Twin of src/core/json-duplicate-key.ts (test/ui/browser-verifier.unit.test.ts).

/**
 * The first key that an object of `text` names twice: the key as written (its JSON string token)
 * and where the second copy starts (1-based), or undefined. Requires text JSON.parse accepts.
 * @param {string} text
 * @returns {{ key: string, line: number, column: number } | undefined}
 */
export function duplicateJsonKey(text) {
  /** @type {(Set<string> | null)[]} one per open bracket: an object's keys so far, null for an array */
  const open = [];
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      const keys = open[open.length - 1];
      if (keyNext && keys) {
        const token = text.slice(i, end + 1);
        const key = JSON.parse(token);
        if (keys.has(key)) {
          const before = text.slice(0, i);
          return { key: token, line: before.split('\n').length, column: i - before.lastIndexOf('\n') };
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
      keyNext = open[open.length - 1] != null; // in an object a key follows, in an array a value
    }
  }
  return undefined;
}

/** @param {string} text @param {number} start @returns {number} the closing quote's index */
function stringEnd(text, start) {
  for (let j = start + 1; ; j++) {
    j = text.indexOf('"', j);
    if (j < 0) return text.length;
    let slashes = 0;
    while (text[j - 1 - slashes] === '\\') slashes++;
    if (slashes % 2 === 0) return j;
  }
}

/**
 * Why the text of the file `name` cannot be checked as a proof (as `openmcp verify` says it before
 * any check, exit 2), or undefined.
 * @param {string} text
 * @param {string} name
 * @returns {string | undefined}
 */
export function proofFileProblem(text, name) {
  try {
    JSON.parse(text);
  } catch {
    return `${name} is not JSON.`;
  }
  const twice = duplicateJsonKey(text);
  if (!twice) return undefined;
  return `${name} names ${twice.key.slice(0, 200)} twice in one object (the second at line ${twice.line}, column ${twice.column}): JSON readers differ on which one counts, so it is not a proof of one event; get the file again`;
}
