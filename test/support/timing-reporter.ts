/**
 * A mocha reporter for finding where the suite's time goes: the usual spec output, then the
 * slowest files (wall time from a file's first suite to the next file's, hooks included) and the
 * slowest tests and hooks, and the whole of it as JSON for comparing runs.
 *
 * @example npx mocha 'test/**\/*.test.ts' --ignore 'test/contracts/**' --reporter test/support/timing-reporter.ts --reporter-option out=test-output/timing.json
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import Mocha from 'mocha';

const { EVENT_RUN_BEGIN, EVENT_RUN_END, EVENT_SUITE_BEGIN, EVENT_TEST_PASS, EVENT_TEST_FAIL, EVENT_HOOK_BEGIN, EVENT_HOOK_END } = Mocha.Runner.constants;

type Timed = { file: string; title: string; ms: number };

class TimingReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions & { reporterOptions?: { out?: string; top?: string } }) {
    super(runner, options);
    const out = options.reporterOptions?.out ?? 'test-output/timing.json';
    const top = Number(options.reporterOptions?.top ?? 15);
    const files = new Map<string, number>();
    const tests: Timed[] = [];
    const hooks: Timed[] = [];
    const hookStarted = new Map<Mocha.Hook, number>();
    const name = (file: string | undefined) => (file ? relative(process.cwd(), file) : '(no file)');
    let current: string | undefined;
    let since = 0;
    let runStarted = 0;
    // Mocha runs one file's root suites one after another: a file's time runs until the next file's first suite.
    const enter = (file: string | undefined) => {
      const now = Date.now();
      if (current !== undefined) files.set(current, (files.get(current) ?? 0) + now - since);
      current = file;
      since = now;
    };
    runner.on(EVENT_RUN_BEGIN, () => (runStarted = Date.now()));
    runner.on(EVENT_SUITE_BEGIN, (suite: Mocha.Suite) => {
      if (suite.file && name(suite.file) !== current) enter(name(suite.file));
    });
    const test = (t: Mocha.Test) => void tests.push({ file: name(t.file), title: t.fullTitle(), ms: t.duration ?? 0 });
    runner.on(EVENT_TEST_PASS, test);
    runner.on(EVENT_TEST_FAIL, test);
    runner.on(EVENT_HOOK_BEGIN, (h: Mocha.Hook) => void hookStarted.set(h, Date.now()));
    runner.on(EVENT_HOOK_END, (h: Mocha.Hook) => {
      hooks.push({ file: name(h.file ?? h.parent?.file), title: h.fullTitle(), ms: Date.now() - (hookStarted.get(h) ?? Date.now()) });
      hookStarted.delete(h);
    });
    runner.once(EVENT_RUN_END, () => {
      enter(undefined);
      const byFile = [...files].sort((a, b) => b[1] - a[1]);
      const s = (ms: number) => `${(ms / 1000).toFixed(1).padStart(6)} s`;
      const lines = [`\n  time by file (${byFile.length} files, ${s(Date.now() - runStarted).trim()} in all), slowest first:`];
      for (const [file, ms] of byFile.slice(0, top)) lines.push(`  ${s(ms)}  ${file}`);
      lines.push(`\n  slowest tests and hooks:`);
      for (const t of [...tests, ...hooks].sort((a, b) => b.ms - a.ms).slice(0, 2 * top)) lines.push(`  ${s(t.ms)}  ${t.file}: ${t.title}`);
      console.log(lines.join('\n'));
      mkdirSync(dirname(out), { recursive: true });
      writeFileSync(out, JSON.stringify({ runMs: Date.now() - runStarted, files: Object.fromEntries(byFile), tests, hooks }, null, 1));
      console.log(`\n  timings written to ${out}`);
    });
  }
}

export = TimingReporter;
