import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES } from '../src/config';
import { buildCli } from '../src/cli/main';

const ROOT = join(__dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** README is part of the product: these checks keep it true as the code changes. */
describe('README', () => {
  it('documents every configuration variable in its table', () => {
    const missing = CONFIG_VARIABLES.filter((v) => !readme.includes(`| \`${v}\` |`));
    expect(missing, 'variables missing from README').to.deep.equal([]);
  });

  it('names no variable the configuration schema does not have', () => {
    const rows = [...readme.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
    const unknown = rows.filter((v) => v !== 'OPENMCP_CONFIG' && !(CONFIG_VARIABLES as string[]).includes(v));
    expect(unknown).to.deep.equal([]);
  });

  it('shows the two commands and the test command .ci/run uses', () => {
    expect(readme).to.include('npm install && npm start');
    expect(readme).to.include('npm install && npm test');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(readme).to.include(pkg.scripts.test);
    expect(readFileSync(join(ROOT, '.ci/run'), 'utf8')).to.match(/^npm test$/m);
  });

  it('lists only CLI commands that exist', () => {
    const cli = buildCli();
    const names = new Set<string>();
    const walk = (c: typeof cli, prefix: string) =>
      c.commands.forEach((s) => {
        names.add(`${prefix}${s.name()}`);
        walk(s, `${prefix}${s.name()} `);
      });
    walk(cli, '');
    const line = readme.split('\n').find((l) => l.startsWith('- CLI `openmcp`'))!;
    const listed = [...line.matchAll(/`([a-z][a-z-]*(?: [a-z][a-z|-]*)?)(?: [<[-][^`]*)?`/g)].map((m) => m[1]).filter((n) => n !== 'openmcp');
    for (const entry of listed) {
      const [head, sub] = entry.split(' ');
      for (const s of sub ? sub.split('|').map((x) => `${head} ${x}`) : [head]) expect(names.has(s), `openmcp ${s}`).to.equal(true);
    }
  });

  it('links only to docs that exist, and to headings they have', () => {
    // GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens.
    const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    for (const m of readme.matchAll(/\]\((docs\/[^)#]+)(?:#([^)]+))?\)/g)) {
      expect(existsSync(join(ROOT, m[1])), m[1]).to.equal(true);
      if (m[2] === undefined) continue;
      const anchors = [...readFileSync(join(ROOT, m[1]), 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((h) => slug(h[1]));
      expect(anchors, `${m[1]}#${m[2]}`).to.include(m[2]);
    }
  });
});
