/** Mocha root hooks (.mocharc.json "require"): run once per test file in a parallel run, once at the end otherwise. */
import { runAfterFile } from './after-file';

export const mochaHooks = {
  async afterAll(): Promise<void> {
    await runAfterFile();
  },
};
