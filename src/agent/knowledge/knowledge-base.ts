import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import MiniSearch from 'minisearch';
import { processTerm, words } from '../../search/text';

export type KnowledgeChunk = { id: string; file: string; heading: string; text: string };
export type KnowledgeHit = KnowledgeChunk & { score: number };

const MAX_CHUNK_CHARS = 1200;

/**
 * The markdown files under `dir`, in name order. Symlinks are followed, but each directory and
 * file is taken once (by the first path that reaches it): a link to a parent made a loop.
 */
function markdownFiles(dir: string, seen = new Set<string>([realpathSync(dir)])): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const isDir = statSync(p).isDirectory();
    if (!isDir && !/\.(md|markdown)$/i.test(name)) continue;
    const real = realpathSync(p);
    if (seen.has(real)) continue;
    seen.add(real);
    if (isDir) out.push(...markdownFiles(p, seen));
    else out.push(p);
  }
  return out;
}

/**
 * A paragraph in pieces of at most `max` characters: cut at its last line break in reach, else its
 * last space, else anywhere but inside a surrogate pair.
 */
function pieces(para: string, max: number): string[] {
  const out: string[] = [];
  let rest = para;
  while (rest.length > max) {
    let cut = rest.lastIndexOf('\n', max);
    if (cut <= 0) cut = rest.lastIndexOf(' ', max);
    if (cut <= 0) cut = /[\ud800-\udbff]/.test(rest[max - 1]) ? max - 1 : max;
    out.push(rest.slice(0, cut));
    rest = rest.slice(cut).replace(/^[ \n]/, '');
  }
  out.push(rest);
  return out;
}

/**
 * Split markdown at headings, then at blank lines (and a paragraph longer than MAX_CHUNK_CHARS
 * at line breaks or spaces) so no chunk exceeds MAX_CHUNK_CHARS.
 * Ids are `<relative path>#<n>`: stable while the file is unchanged, recorded in InferenceCompleted.
 */
export function chunkMarkdown(file: string, text: string): KnowledgeChunk[] {
  const sections: { heading: string; body: string[] }[] = [{ heading: '', body: [] }];
  for (const line of text.split(/\r?\n/)) {
    const h = line.match(/^#{1,6}\s+(.*)$/);
    if (h) sections.push({ heading: h[1].trim(), body: [] });
    else sections[sections.length - 1].body.push(line);
  }
  const chunks: KnowledgeChunk[] = [];
  for (const s of sections) {
    let buf = '';
    const flush = () => {
      const t = buf.trim();
      if (t) chunks.push({ id: `${file}#${chunks.length}`, file, heading: s.heading, text: s.heading ? `${s.heading}\n${t}` : t });
      buf = '';
    };
    for (const para of s.body.join('\n').split(/\n\s*\n/).flatMap((p) => pieces(p, MAX_CHUNK_CHARS))) {
      if (buf && buf.length + para.length > MAX_CHUNK_CHARS) flush();
      buf += `${para}\n\n`;
    }
    flush();
  }
  return chunks;
}

/**
 * The knowledge base: markdown files of KNOWLEDGE_DIR, chunked and indexed with BM25 (minisearch,
 * with the same word splitting and stemming as tool search). Loaded once at start.
 */
export class KnowledgeBase {
  private readonly ms = new MiniSearch<KnowledgeChunk>({ fields: ['heading', 'text'], storeFields: [], tokenize: (t) => words(t), processTerm });
  private readonly byId = new Map<string, KnowledgeChunk>();

  static fromDirectory(dir: string): KnowledgeBase {
    const kb = new KnowledgeBase();
    for (const path of markdownFiles(dir)) kb.add(chunkMarkdown(relative(dir, path).split('\\').join('/'), readFileSync(path, 'utf8')));
    return kb;
  }

  add(chunks: KnowledgeChunk[]): void {
    for (const c of chunks) {
      if (this.byId.has(c.id)) this.ms.discard(c.id);
      this.byId.set(c.id, c);
      this.ms.add(c);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  /** Best `k` chunks for a query, best first. */
  search(q: string, k = 3): KnowledgeHit[] {
    if (!q.trim() || this.byId.size === 0) return [];
    return this.ms
      .search(q, { boost: { heading: 2, text: 1 }, prefix: (t: string) => t.length > 4, combineWith: 'OR' })
      .slice(0, k)
      .map((r) => ({ ...this.byId.get(String(r.id))!, score: r.score }));
  }
}
