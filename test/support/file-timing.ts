/**
 * Wall time of each test file as a parallel run sees it, for finding where the suite's time goes:
 * with MOCHA_FILE_TIMING=<path> set, every file appends a JSON line `{ file, pid, start, end }` to
 * <path> once it is done (test/support/root-hooks.ts calls it). A file's span runs from the end of
 * the file its worker ran before (or the worker's start) to the end of its own last root hook, so
 * it includes loading and compiling the file.
 *
 * Run as a script on such a file, it prints the files of at least `minSeconds` (default 12),
 * slowest first (end-to-end ones spread out: spreadEndToEnd), as test/slow-first.txt lists them,
 * and a summary on stderr.
 *
 * @example MOCHA_FILE_TIMING=test-output/files.jsonl npm test
 * @example npx tsx test/support/file-timing.ts test-output/files.jsonl > test/slow-first.txt
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import type Mocha from 'mocha';

let since = Date.now();

/** Append this file's span; the first root suite's file names it. */
export function recordFileTiming(root: Mocha.Suite | undefined): void {
  const out = process.env.MOCHA_FILE_TIMING;
  if (!out) return;
  const end = Date.now();
  const file = root?.suites.find((s) => s.file)?.file ?? root?.tests.find((t) => t.file)?.file;
  mkdirSync(dirname(out), { recursive: true });
  appendFileSync(out, JSON.stringify({ file: file ? relative(process.cwd(), file) : '(unknown)', pid: process.pid, start: since, end }) + '\n');
  since = end;
}

type Span = { file: string; pid: number; start: number; end: number };

/** The files' spans, slowest first, with the run's wall time and the spans' sum. */
export function summarize(jsonl: string): { files: Array<{ file: string; ms: number }>; wallMs: number; sumMs: number } {
  const spans = jsonl.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Span);
  const files = spans.map((s) => ({ file: s.file, ms: s.end - s.start })).sort((a, b) => b.ms - a.ms);
  const wallMs = spans.length ? Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start)) : 0;
  return { files, wallMs, sumMs: files.reduce((n, f) => n + f.ms, 0) };
}

/**
 * `files` (slowest first) with the end-to-end ones (`*.e2e.test.ts`: clusters of processes, a
 * browser) at most every third place, the others in between: three workers taking files in this
 * order then run about one at a time (three at once starved each other on two cores: a dashboard
 * test waited out its 90 s for a task run by processes as starved).
 */
export function spreadEndToEnd(files: string[]): string[] {
  const e2e = files.filter((f) => f.endsWith('.e2e.test.ts'));
  const other = files.filter((f) => !f.endsWith('.e2e.test.ts'));
  const out: string[] = [];
  while (e2e.length || other.length) {
    if (e2e.length) out.push(e2e.shift()!);
    out.push(...other.splice(0, 2));
  }
  return out;
}

if (require.main === module) {
  const [path, minSeconds = '12'] = process.argv.slice(2);
  if (!path) throw new Error('usage: tsx test/support/file-timing.ts <MOCHA_FILE_TIMING file> [minSeconds]');
  const { files, wallMs, sumMs } = summarize(readFileSync(path, 'utf8'));
  const slow = spreadEndToEnd(files.filter((f) => f.ms >= Number(minSeconds) * 1000).map((f) => f.file));
  console.error(`${files.length} files, ${(wallMs / 1000).toFixed(1)} s wall, ${(sumMs / 1000).toFixed(1)} s summed; ${slow.length} of at least ${minSeconds} s:`);
  for (const f of files.slice(0, 15)) console.error(`${(f.ms / 1000).toFixed(1).padStart(7)} s  ${f.file}`);
  const header = readFileSync(require.resolve('../slow-first.txt'), 'utf8').split('\n').filter((l) => l.startsWith('#'));
  console.log([...header, ...slow].join('\n'));
}
