import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The modules `file` imports (relative specifiers only), resolved to paths under the repository. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import|require\()\s*['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((s) => relative(ROOT, resolve(dirname(file), s)));
}

/**
 * Read models and projections sit below the agent runtime: the runtime writes events, they read
 * them. A read model importing the runtime (its chain tools, its LLM client) would pull it into
 * every process that only projects or serves reads. Names both need live in src/core.
 */
describe('layering: read models and projections do not depend on the agent runtime', () => {
  for (const dir of ['projections', 'src/readmodels']) {
    it(`${dir} imports nothing from src/agent`, () => {
      const wrong = tsFiles(join(ROOT, dir)).flatMap((f) => importsOf(f).filter((p) => p === 'src/agent' || p.startsWith('src/agent/')).map((p) => `${relative(ROOT, f)} -> ${p}`));
      expect(wrong).to.deep.equal([]);
    });
  }
});
