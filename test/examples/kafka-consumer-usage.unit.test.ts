import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const EXAMPLE = join(__dirname, '../../examples/kafka-consumer.ts');
const TSX = join(__dirname, '../../node_modules/tsx/dist/cli.mjs');

/**
 * docs/consumers.md, "Example consumer": `--max N` ends the run after N events. A value that is not
 * a count (`--max abc`, `--max` with none) used to be taken as NaN, which no count reaches: the
 * example ran for ever instead of saying so. Bad options are named before any broker is asked
 * (port 9, discard: nothing listens there).
 */
describe('examples/kafka-consumer.ts: bad options', function () {
  this.timeout(60_000);
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [TSX, EXAMPLE, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, KAFKA_BROKERS: '127.0.0.1:9' } });

  for (const [args, message] of [
    [['--max', 'abc'], "error: option '--max <n>' argument 'abc' is invalid. Expected a whole number of events, at least 1."],
    [['--max', '0'], "error: option '--max <n>' argument '0' is invalid. Expected a whole number of events, at least 1."],
    [['--max', '2.5'], "error: option '--max <n>' argument '2.5' is invalid. Expected a whole number of events, at least 1."],
    [['--from-beginning', '--max'], "error: option '--max <n>' argument missing"],
    [['--group', '--from-beginning'], "error: option '--group <id>' argument '--from-beginning' is invalid. Expected a group id, not an option."],
    [['--form-beginning'], "error: unknown option '--form-beginning'"],
  ] as const) {
    it(`${args.join(' ')}: exits 2 naming it, before connecting`, () => {
      const r = run(...args);
      expect(r.status, r.stderr).to.equal(2);
      expect(r.stdout).to.equal('');
      expect(r.stderr.split('\n')[0]).to.equal(message);
      expect(r.stderr).to.contain('Usage: kafka-consumer [options]');
    });
  }
});
