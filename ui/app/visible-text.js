// Text from data (events, proofs, tool calls, an upstream's error) as the dashboard shows it.
// Twin of src/cli/printable.ts printableText (test/ui/visible-text.unit.test.ts holds them together).

/**
 * The embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), C1 (U+0080–U+009F),
 * DEL, C0 but tab and newline, and what a browser shows as nothing (Unicode's
 * Default_Ignorable_Code_Point: the zero width space, U+2060, U+FEFF, the soft hyphen, tag
 * characters but those of three flags, FLAGS) but what writing needs: the zero width joiner and
 * non-joiner (U+200C, U+200D: Persian and Indic words, emoji sequences) and the variation selectors (emoji, CJK and Mongolian forms). Markup is escaped by preact already; these are not
 * markup, yet a browser lays out what follows an override reordered ("\u202Etxt.exe" reads
 * "exe.txt"), and shows "ad\u200bmin" as "admin". The marks U+061C, U+200E and U+200F, which the
 * CLI escapes too, are left: the browser's own date and number formats put them in right-to-left
 * locales, and they reorder no run of text.
 */
const HIDDEN = '(?![\\u061c\\u200e\\u200f\\u200c\\u200d\\p{Variation_Selector}])[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069\\p{Default_Ignorable_Code_Point}]';

/** `id` in tag characters (U+E0020–U+E007E mirror ASCII): 'gbsct' as U+E0067 U+E0062 U+E0073 U+E0063 U+E0074. */
const tags = (/** @type {string} */ id) => [...id].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');

/**
 * The subdivision flags Unicode recommends for emoji (RGI): England, Scotland and Wales, each
 * U+1F3F4, the subdivision's id in tag characters and U+E007F (cancel tag). Their tag characters
 * are kept; every other one is escaped (HIDDEN), a 🏴 with tags spelling another id too (drawn as
 * the black flag alone, its tags unseen). Matched whole before a single character.
 */
const FLAGS = `(${['gbeng', 'gbsct', 'gbwls'].map((id) => `\u{1f3f4}${tags(id)}\u{e007f}`).join('|')})`;
const SHOWN = new RegExp(`${FLAGS}|${HIDDEN}`, 'gu');

/** Each UTF-16 unit of `c` as its `\uXXXX` escape (a character beyond U+FFFF as its two units, as JSON writes it). */
const escape = (/** @type {string} */ c) => c.replace(/[^]/g, (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`);

/**
 * `text` with each such character as its `\uXXXX` escape, so a reader sees the characters the data
 * holds; line breaks and tabs are kept. Idempotent (an escape holds none of them).
 * @example visibleText('\u202Etxt.exe') // '\\u202etxt.exe'
 * @param {string} text
 */
export const visibleText = (text) => text.replace(SHOWN, (match, /** @type {string | undefined} */ flag) => flag ?? escape(match));
