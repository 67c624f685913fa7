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

  it('keep their colours on a terminal', () => {
    // Whether escape codes come out depends on the colour library's own terminal detection (off
    // under a pipe or CI=true), so compare the styles handed to cli-table3 instead.
    const style = (color: boolean) => (cliTable({ head: ['id'] }, color) as unknown as { options: { style: { head: string[]; border: string[] } } }).options.style;
    expect(style(true).head).to.not.be.empty;
    expect(style(false)).to.deep.include({ head: [], border: [] });
  });

  it('are all made through cliTable (cli-table3 alone colours whatever stdout is)', () => {
    const dir = join(__dirname, '..', '..', 'src', 'cli');
    const direct = readdirSync(dir).filter((f) => f !== 'table.ts' && /new Table\(|from 'cli-table3'/.test(readFileSync(join(dir, f), 'utf8')));
    expect(direct).to.deep.equal([]);
  });
});
