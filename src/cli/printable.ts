/** Each UTF-16 unit of `c` as its `\uXXXX` escape (a character beyond U+FFFF as its two units, as JSON writes it). */
const escape = (c: string) => c.replace(/[^]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * The bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069): no control
 * characters, yet a terminal that lays out bidirectional text shows what follows one reordered
 * ("\u202Etxt.exe" reads "exe.txt"), so the text a person reads is not the text the data holds.
 */
const BIDI = '\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069';
/**
 * What a renderer shows as nothing (Unicode's Default_Ignorable_Code_Point, the bidirectional
 * marks among them): zero width space (U+200B), word joiner (U+2060), U+FEFF, the soft hyphen,
 * the tag characters (U+E0000–U+E007F, which can carry a whole sentence unseen; but those of the
 * three flags, FLAGS). "ad\u200bmin" read "admin": two different names printed alike. Except
 * what writing needs (KEPT): the zero width joiner and non-joiner (U+200C, U+200D: Persian and Indic words, emoji sequences) and the
 * variation selectors (U+FE00–U+FE0F, U+E0100–U+E01EF: emoji and CJK forms; Mongolian's U+180B–U+180D, U+180F) stay, or a Persian
 * instruction or an emoji would print as escapes.
 */
const INVISIBLE = '\\p{Default_Ignorable_Code_Point}';
/** Default-ignorable characters that writing needs: not escaped (INVISIBLE). */
const KEPT = '(?![\\u200c\\u200d\\p{Variation_Selector}])';
/** `id` in tag characters (U+E0020–U+E007E mirror ASCII): 'gbsct' as U+E0067 U+E0062 U+E0073 U+E0063 U+E0074. */
const tags = (id: string) => [...id].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
/**
 * The subdivision flags Unicode recommends for emoji (RGI): England, Scotland and Wales, each
 * U+1F3F4 (waving black flag), the subdivision's id in tag characters and U+E007F (cancel tag).
 * Their tag characters are kept; every other one is escaped (INVISIBLE), a 🏴 with tags spelling
 * another id too (a renderer draws it as the black flag alone, its tags unseen), so no text rides
 * along unseen. Matched whole before a single character (printed), so a flag is kept or not as one.
 */
const FLAGS = `(${['gbeng', 'gbsct', 'gbwls'].map((id) => `\u{1f3f4}${tags(id)}\u{e007f}`).join('|')})`;
const CONTROLS = new RegExp(`${FLAGS}|${KEPT}[\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f${BIDI}${INVISIBLE}]`, 'gu');
const CONTROLS_BUT_LINES = new RegExp(`${FLAGS}|${KEPT}[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f${BIDI}${INVISIBLE}]`, 'gu');
const NOT_ESCAPED_BY_JSON = new RegExp(`${FLAGS}|${KEPT}[\\u007f-\\u009f${BIDI}${INVISIBLE}]`, 'gu');
/** A match of the patterns above as printed: a flag as it is, any other character as its escapes. */
const printed = (match: string, flag: string | undefined) => flag ?? escape(match);

/**
 * Text that others wrote (a task's instruction, an upstream's error or tool description), made
 * safe to print on a terminal: each control character (C0 but tab, DEL, C1), bidirectional
 * control and character shown as nothing becomes its `\uXXXX` escape, so an ESC sequence in it
 * cannot clear the screen, retitle the window, write the clipboard (OSC 52) or forge lines of
 * output, nor an override or a zero width space show other words than it holds. The CLI's own
 * colours are added around it.
 * @example printable('a\u001b[2Jb') // 'a\\u001b[2Jb'
 */
export function printable(text: string): string {
  return text.replace(CONTROLS, printed);
}

/**
 * `printable` for a whole text meant to be read as text (a task's answer): its line breaks and
 * tabs are kept, every other control character (and bidirectional control, and character shown
 * as nothing) escaped.
 * @example printableText('a\nb\u009b2J') // 'a\nb\\u009b2J'
 */
export function printableText(text: string): string {
  return text.replace(CONTROLS_BUT_LINES, printed);
}

/**
 * JSON.stringify with DEL, the C1 controls, the bidirectional controls and the characters shown as
 * nothing escaped too (JSON.stringify escapes only C0): U+009B is CSI, which terminals act on in
 * UTF-8 as ESC [. Still the same JSON: `\u009b` is its escape (`\udb40\udc41` that of U+E0041).
 * @example printableJson({ a: '\u009b2J' }) // '{"a":"\\u009b2J"}'
 */
export function printableJson(value: unknown, space?: number): string {
  return JSON.stringify(value, null, space).replace(NOT_ESCAPED_BY_JSON, printed);
}
