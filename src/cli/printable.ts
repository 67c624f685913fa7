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
