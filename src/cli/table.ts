import Table from 'cli-table3';

/**
 * A cli-table3 table for the CLI's output, coloured only on a terminal. cli-table3 colours its
 * header and borders whatever stdout is, so `openmcp tasks list | grep …` or `> file` would carry
 * ANSI escape codes.
 * @example out(cliTable({ head: ['id', 'status'] }).toString());
 */
export function cliTable(options: Table.TableConstructorOptions = {}, color: boolean = process.stdout.isTTY === true): Table.Table {
  return new Table(color ? options : { ...options, style: { ...options.style, head: [], border: [] } });
}
