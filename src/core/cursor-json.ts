/**
 * The one encoding of every opaque list cursor (REST lists, the task list, MCP tools/list):
 * base64url of a small JSON value. What the value holds, and how it is checked, is each list's.
 */
export function encodeCursorJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

/**
 * The JSON value of a cursor, or `bad('not base64url')` / `bad('malformed')` for anything that is
 * not base64url (or longer than `maxChars`) or does not decode to JSON: never a 500.
 * @example decodeCursorJson(raw, 1000, (why) => new InvalidCursorError(`cursor: ${why}`))
 */
export function decodeCursorJson(raw: string, maxChars: number, bad: (reason: string) => Error): unknown {
  if (raw.length === 0 || raw.length > maxChars || !/^[A-Za-z0-9_-]+$/.test(raw)) throw bad('not base64url');
  try {
    return JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw bad('malformed');
  }
}
