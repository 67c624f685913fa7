/**
 * Text that others wrote (a task's instruction, an upstream's error or tool description), made
 * safe to print on a terminal: each control character (C0 but tab, DEL, C1) becomes its `\uXXXX`
 * escape, so an ESC sequence in it cannot clear the screen, retitle the window, write the
 * clipboard (OSC 52) or forge lines of output. The CLI's own colours are added around it.
 * @example printable('a\u001b[2Jb') // 'a\\u001b[2Jb'
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * `printable` for a whole text meant to be read as text (a task's answer): its line breaks and
 * tabs are kept, every other control character escaped.
 * @example printableText('a\nb\u009b2J') // 'a\nb\\u009b2J'
 */
export function printableText(text: string): string {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * JSON.stringify with DEL and the C1 controls escaped too (JSON.stringify escapes only C0): U+009B
 * is CSI, which terminals act on in UTF-8 as ESC [. Still the same JSON: `\u009b` is its escape.
 * @example printableJson({ a: '\u009b2J' }) // '{"a":"\\u009b2J"}'
 */
export function printableJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
