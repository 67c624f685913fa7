import { expect } from 'chai';
import { parse } from 'yaml';
import { parseSettingsText } from '../../src/core/settings-text';

/**
 * A YAML settings file is read as yaml's `parse` reads it, warnings included: a tag the parser does
 * not know (`apiKey: !env OPENAI_API_KEY`) is read as the plain string after it, and its warning
 * ("Unresolved tag: !env", on stderr as a Node warning) is what tells the operator so. Parsing the
 * document once (for the alias-cycle check) had dropped it: the start went on silently with the
 * variable's name as the key.
 */
describe('YAML settings files: read as yaml.parse reads them, warnings included', () => {
  /** What `read` returns or throws, and the warnings it emits. */
  const observed = (read: () => unknown) => {
    const warnings: string[] = [];
    const emit = process.emitWarning;
    process.emitWarning = ((w: string | Error) => void warnings.push(typeof w === 'string' ? w : `${w.name}: ${w.message}`)) as typeof process.emitWarning;
    try {
      return { value: JSON.stringify(read()), warnings };
    } catch (err) {
      return { error: (err as Error).message, warnings };
    } finally {
      process.emitWarning = emit;
    }
  };

  it('an unknown tag or directive warns as yaml.parse warns', () => {
    const got = observed(() => parseSettingsText('s.yaml', 'apiKey: !env OPENAI_API_KEY\n'));
    expect(got.value).to.equal('{"apiKey":"OPENAI_API_KEY"}');
    expect(got.warnings.join('\n')).to.include('Unresolved tag: !env');
  });

  it('the same value, error and warnings as yaml.parse for empty, multi-document, merge-key, tagged and alias-heavy files', () => {
    const texts = [
      '', '# only a comment\n', '  \n', 'a: !env FOO\n', 'a: !!binary aGk=\n', '%FOO bar\n---\na: 1\n', '%YAML 1.1\n---\na: yes\nc: {<<: {x: 1}}\n',
      'b: &b {x: 1}\nc:\n  <<: *b\n  y: 2\n', 'a: 1\n---\nb: 2\n', '---\n---\n', 'a: 1\n...\n', 'a: 1\na: 2\n', 'a: &x 1\nb: &x 2\nc: *x\n',
      `a: &a [1]\nb: [${Array(150).fill('*a').join(', ')}]\n`, 'a: !!set {x, y}\n', 'a: [1, 2\n',
    ];
    for (const text of texts) {
      expect(observed(() => parseSettingsText('s.yaml', text)), JSON.stringify(text)).to.deep.equal(observed(() => parse(text)));
    }
  });
});
