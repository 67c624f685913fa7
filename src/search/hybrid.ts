export type Fused = { id: string; score: number; lexical: number; semantic: number };

/**
 * Weighted score fusion: BM25 scaled by the best BM25 score, cosine similarity min-max scaled over
 * the semantic candidates, mixed as (1 - w)·lexical + w·semantic. Scaling per query keeps the two
 * comparable without calibration; `w` = 0 is lexical-only, 1 semantic-only.
 */
export function fuseScores(lexical: { id: string; score: number }[], semanticIn: { id: string; similarity: number }[], w: number): Fused[] {
  // A NaN similarity (a model's zero vector, normalized) would make the scaling and every score NaN, and the order arbitrary.
  const semantic = semanticIn.filter((s) => Number.isFinite(s.similarity));
  const maxLex = lexical.reduce((m, r) => Math.max(m, r.score), 0) || 1;
  const sims = semantic.map((s) => s.similarity);
  const lo = Math.min(...sims);
  const span = Math.max(...sims) - lo || 1;
  const out = new Map<string, Fused>();
  for (const r of lexical) out.set(r.id, { id: r.id, score: 0, lexical: r.score / maxLex, semantic: 0 });
  for (const s of semantic) {
    const e = out.get(s.id) ?? { id: s.id, score: 0, lexical: 0, semantic: 0 };
    e.semantic = (s.similarity - lo) / span;
    out.set(s.id, e);
  }
  for (const e of out.values()) e.score = (1 - w) * e.lexical + w * e.semantic;
  // Ties by id in code-unit order: the same on every replica, whatever its locale.
  return [...out.values()].sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
