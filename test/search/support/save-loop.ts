/**
 * Test fixture: save a VectorIndex at `path` `rounds` times, as a gateway replica sharing DATA_DIR
 * would. Every id's vector is a function of the id alone; `seed` shifts the key numbering, so two
 * processes map the same ids to different keys (as replicas with different histories do).
 * Run: node --import tsx save-loop.ts <path> <seed> <rounds>
 */
import { VectorIndex } from '../../../src/search/vector-index';

export const IDS = Array.from({ length: 40 }, (_, i) => `s/t${i}`);

/** The vector of an id: unit length, far from the others'. */
export function vectorOf(id: string): Float32Array {
  const i = IDS.indexOf(id);
  const v = new Float32Array(16).fill(0.01);
  v[i % 16] = 1;
  v[(i * 7 + 3) % 16] += i >= 16 ? 0.8 : 0;
  v[(i * 5 + 1) % 16] += i >= 32 ? 0.6 : 0;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

if (require.main === module) {
  const [path, seed, rounds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
  const v = new VectorIndex('m', 16, path);
  for (let i = 0; i < seed * 50; i++) v.upsert('shift', 'x', vectorOf(IDS[0]));
  v.remove(['shift']);
  for (const id of IDS) v.upsert(id, 'h', vectorOf(id));
  for (let r = 0; r < rounds; r++) {
    const id = IDS[(r * 13 + seed) % IDS.length];
    v.upsert(id, 'h', vectorOf(id));
    v.save();
  }
}
