/** Mocha root hooks (.mocharc.json "require"): run once per test file in a parallel run, once at the end otherwise. */
import { runAfterFile } from './after-file';
import { recordFileTiming } from './file-timing';

export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    try {
      await runAfterFile();
    } finally {
      recordFileTiming(this.test?.parent);
    }
  },
};
