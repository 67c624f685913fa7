import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, sep } from 'node:path';

export type Asset = { body: Buffer; type: string; etag: string };

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
};

/** The dashboard's own files (ui/), relative to this file, so a global install finds them too. */
export const UI_ROOT = join(__dirname, '..', '..', 'ui');

/**
 * Browser libraries served straight from node_modules as native ES modules (no bundler, no CDN):
 * URL path under /ui/vendor/ → file. Resolved through each package's own entry points.
 */
function vendorFiles(): Record<string, string> {
  const preact = dirname(require.resolve('preact'));
  const hooks = dirname(require.resolve('preact/hooks'));
  const htm = dirname(require.resolve('htm'));
  const hashes = dirname(require.resolve('@noble/hashes/sha3.js'));
  return {
    'preact.mjs': join(preact, 'preact.mjs'),
    'preact-hooks.mjs': join(hooks, 'hooks.mjs'),
    'htm.mjs': join(htm, 'htm.mjs'),
    'noble-secp256k1.js': require.resolve('@noble/secp256k1'),
    // sha3.js imports ./_u64.js and ./utils.js: keep them side by side.
    'noble-hashes/sha3.js': join(hashes, 'sha3.js'),
    'noble-hashes/_u64.js': join(hashes, '_u64.js'),
    'noble-hashes/utils.js': join(hashes, 'utils.js'),
  };
}

/** The import map the page declares, so ui/app code imports packages by their npm names. */
export function importMap(base: string): { imports: Record<string, string> } {
  return {
    imports: {
      preact: `${base}/vendor/preact.mjs`,
      'preact/hooks': `${base}/vendor/preact-hooks.mjs`,
      htm: `${base}/vendor/htm.mjs`,
      '@noble/secp256k1': `${base}/vendor/noble-secp256k1.js`,
      '@noble/hashes/sha3.js': `${base}/vendor/noble-hashes/sha3.js`,
    },
  };
}

function asset(body: Buffer, file: string): Asset {
  return { body, type: TYPES[extname(file)] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

/**
 * Every file the dashboard serves, read once into memory and keyed by URL path below the mount
 * point ('app/main.js', 'vendor/preact.mjs'). A fixed map means no request path ever reaches
 * the file system, so there is nothing to traverse.
 */
export function loadAssets(root = UI_ROOT): Map<string, Asset> {
  const out = new Map<string, Asset>();
  for (const file of walk(join(root, 'app'))) {
    if (!TYPES[extname(file)]) continue;
    out.set(`app/${relative(join(root, 'app'), file).split(sep).join('/')}`, asset(readFileSync(file), file));
  }
  for (const [path, file] of Object.entries(vendorFiles())) out.set(`vendor/${path}`, asset(readFileSync(file), file));
  return out;
}
