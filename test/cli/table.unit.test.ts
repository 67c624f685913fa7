import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliTable } from '../../src/cli/table';

const ESC = '\u001b[';

describe('CLI tables', () => {
  it('carry no ANSI escape codes when stdout is not a terminal (a pipe, a file)', () => {
    const t = cliTable({ head: ['id', 'status'] }, false);
    t.push(['1', 'completed']);
    expect(t.toString()).to.not.include(ESC);
    expect(t.toString()).to.include('completed');
  });

  it('are coloured on a terminal', () => {
    expect(cliTable({ head: ['id'] }, true).toString()).to.include(ESC);
  });

  it('are all made through cliTable (cli-table3 alone colours whatever stdout is)', () => {
    const dir = join(__dirname, '..', '..', 'src', 'cli');
    const direct = readdirSync(dir).filter((f) => f !== 'table.ts' && /new Table\(|from 'cli-table3'/.test(readFileSync(join(dir, f), 'utf8')));
    expect(direct).to.deep.equal([]);
  });
});
