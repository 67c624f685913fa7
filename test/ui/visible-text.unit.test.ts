import { expect } from 'chai';
import fc from 'fast-check';
import { printableText } from '../../src/cli/printable';
import { textOf, type VNode } from './support/vnode-text';

// ui/app is plain ES modules (ui/package.json: type module): the very files the dashboard serves.
const loadText = async () => (await import('../../ui/app/visible-text.js' as string)) as { visibleText(t: string): string };
const loadHtml = async () => (await import('../../ui/app/html.js' as string)) as { html(strings: TemplateStringsArray, ...values: unknown[]): VNode };

const RLO = '\u202e';

describe('dashboard text from data: bidirectional and other control characters shown as escapes', () => {
  it('visibleText escapes the embeddings, overrides and isolates, C1, DEL and C0 but tab and newline, as the CLI does', async () => {
    const { visibleText } = await loadText();
    expect(visibleText(`${RLO}txt.exe`)).to.equal('\\u202etxt.exe');
    expect(visibleText('a\u2066b\u2069c\u202ad\u009b2J\u007f\u001b[0m')).to.equal('a\\u2066b\\u2069c\\u202ad\\u009b2J\\u007f\\u001b[0m');
    expect(visibleText('line 1\n\tline 2 é 日本 ✓')).to.equal('line 1\n\tline 2 é 日本 ✓');
    // The marks (U+061C, U+200E, U+200F) stay: the browser's own date and number formats put them in
    // right-to-left locales, and they reorder nothing a reader would take for other words.
    expect(visibleText('\u200f12/06/2026\u200e')).to.equal('\u200f12/06/2026\u200e');
    // Characters shown as nothing (Unicode's Default_Ignorable_Code_Point) are escaped, as the CLI
    // escapes them: "ad\u200bmin" read "admin". One beyond U+FFFF is escaped as its two UTF-16 units.
    expect(visibleText('ad\u200bmin\u2060\ufeff\u00ad\u{e0041}')).to.equal('ad\\u200bmin\\u2060\\ufeff\\u00ad\\udb40\\udc41');
    // Not what writing needs: the joiners of Persian and Indic words and emoji, variation selectors.
    // (A Mongolian word's free variation selector (U+180B-U+180D, U+180F) is one as much as U+FE0F.)
    const writing = 'می\u200cخواهم 👩\u200d💻 ❤\ufe0f 葛\u{e0100} ᠮᠣᠩᠭ\u180bᠣᠯ ᠭ\u180fᠠ';
    expect(visibleText(writing)).to.equal(writing);
    const marks = /[\u061c\u200e\u200f]/g;
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const plain = s.replace(marks, '');
        expect(visibleText(plain)).to.equal(printableText(plain));
        expect(visibleText(visibleText(s))).to.equal(visibleText(s));
      }),
      { numRuns: 500 },
    );
    // Binary strings seldom hold one: every character shown as nothing, each in text, both agree.
    const ignorable = /\p{Default_Ignorable_Code_Point}/u;
    // (Unicode gives them in the planes 0, 1 and 14 only.)
    for (let c = 0; c <= 0xeffff; c = c === 0x1ffff ? 0xe0000 : c + 1) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCodePoint(c);
      if (!ignorable.test(ch) || '\u061c\u200e\u200f'.includes(ch) || /[\u200c\u200d\p{Variation_Selector}]/u.test(ch)) continue;
      expect(visibleText(`a${ch}b`), c.toString(16)).to.equal(printableText(`a${ch}b`)).and.not.include(ch);
    }
  });

  // The twins agreed on escaping every tag character, the flags' too: test/cli/printable.unit.test.ts
  // holds printableText to keeping the three flags' only; visibleText must agree with it.
  it('visibleText keeps the England, Scotland and Wales flags and escapes every other tag character, as printableText does', async () => {
    const { visibleText } = await loadText();
    const tags = (id: string) => [...id].map((c) => String.fromCodePoint(0xe0000 + c.charCodeAt(0))).join('');
    const FLAGS = ['gbeng', 'gbsct', 'gbwls'].map((id) => `\u{1f3f4}${tags(id)}\u{e007f}`);
    const scotland = `Scotland ${FLAGS[1]}`;
    expect(visibleText(scotland)).to.equal(scotland);
    expect(visibleText(`\u{1f3f4}${tags('usca')}\u{e007f}`)).to.equal('🏴\\udb40\\udc75\\udb40\\udc73\\udb40\\udc63\\udb40\\udc61\\udb40\\udc7f');
    const { html } = await loadHtml();
    expect(textOf(html`<p title=${scotland}>${scotland}</p>`)).to.equal(scotland);
    const piece = fc.oneof(
      fc.constantFrom(...FLAGS, '\u{1f3f4}', '\u{e007f}', '\u{e0001}', '\ufe0f', '\u202e', 'a'),
      fc.integer({ min: 0xe0000, max: 0xe007f }).map((c) => String.fromCodePoint(c)),
      fc.constantFrom('gbeng', 'gbsct', 'gbwls', 'usca', 'gb').map(tags),
      fc.string({ unit: 'binary', maxLength: 3 }),
    );
    const marks = /[\u061c\u200e\u200f]/g;
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }).map((p) => p.join('').replace(marks, '')), (s) => {
        expect(visibleText(s)).to.equal(printableText(s));
        expect(visibleText(visibleText(s))).to.equal(visibleText(s));
      }),
      { numRuns: 1000 },
    );
  });

  it('html shows text children and the title, aria-label and alt attributes through it, at any depth; other attributes (values, links) as they are', async () => {
    const { html } = await loadHtml();
    const name = `${RLO}txt.exe`;
    const Cell = ({ children }: { children: unknown }) => html`<td>${children}</td>`;
    const Hex = ({ value }: { value: string }) => html`<code title=${value}>${value.slice(0, 4)}</code>`;
    const tree = html`<div>
      <p title=${name} aria-label=${name} alt=${name} href=${`#/x/${name}`} value=${name} data-id=${name}>${name} and ${[name, [html`<b>${name}</b>`]]}</p>
      <${Cell}>${name}</${Cell}>
      <${Hex} value=${name} />
    </div>`;
    const text = textOf(tree);
    expect(text).to.include('\\u202etxt.exe and \\u202etxt.exe\\u202etxt.exe');
    expect(text).not.to.include(RLO);
    const p = (tree.props.children as VNode[]).find((c) => c && c.type === 'p')!;
    expect(p.props).to.include({ title: '\\u202etxt.exe', 'aria-label': '\\u202etxt.exe', alt: '\\u202etxt.exe' });
    expect(p.props).to.include({ href: `#/x/${name}`, value: name, 'data-id': name });
    const hex = (tree.props.children as VNode[]).find((c) => c && c.type === Hex)!;
    expect(((hex.type as (q: unknown) => VNode)(hex.props)).props.title).to.equal('\\u202etxt.exe');
  });
});
