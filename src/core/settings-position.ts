import type { Node } from 'yaml';
import { withoutByteOrderMark } from './byte-order-mark';

// Loaded when a position is asked for, a settings file being refused: every start reads settings
// through modules importing this one, and `openmcp mcp stdio` answers an MCP host once loaded.
const yaml = () => require('yaml') as typeof import('yaml');

export type SettingsPosition = { line: number; column: number };

/**
 * Where a value of a settings file is written: the 1-based line and column of the node at `path`
 * (object keys and array indexes, as a zod issue names them), or of the key `key` inside it (an
 * unrecognized key). A path the text does not have (a key the schema wanted but the file lacks)
 * gives the place of its deepest part that the file has. Reads JSON as well as YAML (JSON is YAML's
 * flow syntax); text that does not parse gives undefined, as does a path starting nowhere.
 * @example settingsPosition('a:\n  b: 1\n', ['a', 'b']) // { line: 2, column: 6 }
 */
export function settingsPosition(fileText: string, path: readonly PropertyKey[], key?: string): SettingsPosition | undefined {
  let loaded: typeof import('yaml');
  try {
    loaded = yaml();
  } catch {
    return undefined; // A position is a nicety: the refusal it would follow is said without it.
  }
  const { isMap, isNode, isScalar, LineCounter, parseDocument } = loaded;
  const lines = new LineCounter();
  const doc = parseDocument(withoutByteOrderMark(fileText), { lineCounter: lines, uniqueKeys: false });
  if (doc.errors.length || !isNode(doc.contents)) return undefined;
  let node: Node = doc.contents;
  for (const part of path) {
    const next = child(node, part);
    if (!next) break;
    node = next;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair && isNode(pair.key)) node = pair.key;
  }
  if (!node.range) return undefined;
  const { line, col } = lines.linePos(node.range[0]);
  return { line, column: col };
}

function child(node: Node, part: PropertyKey): Node | undefined {
  const { isMap, isNode, isPair, isScalar, isSeq } = yaml();
  if (isSeq(node) && typeof part === 'number') {
    const item = node.items[part];
    return isNode(item) ? item : undefined;
  }
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(part));
    return pair && isNode(pair.value) ? pair.value : undefined;
  }
  return undefined;
}
