/**
 * `text` without a leading byte order mark (U+FEFF), as a Windows editor or PowerShell's
 * `-Encoding utf8` writes one. The mark is no part of a JSON text (RFC 8259 section 8.1 lets a
 * reader ignore it) yet JSON.parse refuses it; fastify's parser and the browser's Blob.text() drop
 * it too. Only the first character is looked at: a U+FEFF further in is the text's own.
 * @example withoutByteOrderMark('\uFEFF{"a":1}') // '{"a":1}'
 */
export function withoutByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}
