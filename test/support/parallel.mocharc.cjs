/**
 * npm test's first run (`mocha --config test/support/parallel.mocharc.cjs`): .mocharc.json's
 * settings, every test file but the contract suites (test/contracts: a mocha run of their own,
 * docs/benchmarks.md "The test suite"), three at a time, the files test/slow-first.txt lists first.
 * Mocha hands files to its workers in the order of `spec`: a long file late in path order ran on
 * alone at the end of the run.
 */
const { readdirSync, readFileSync } = require('node:fs');
const { join, sep } = require('node:path');

const root = join(__dirname, '..', '..');
const base = JSON.parse(readFileSync(join(root, '.mocharc.json'), 'utf8'));
const all = readdirSync(join(root, 'test'), { recursive: true })
  .map((f) => ['test', ...f.split(sep)].join('/'))
  .filter((f) => f.endsWith('.test.ts') && !f.startsWith('test/contracts/'))
  .sort();
const listed = readFileSync(join(root, 'test', 'slow-first.txt'), 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'));
const first = [...new Set(listed)].filter((f) => all.includes(f));
const firstSet = new Set(first);

module.exports = { ...base, spec: [...first, ...all.filter((f) => !firstSet.has(f))], parallel: true, jobs: 3 };
