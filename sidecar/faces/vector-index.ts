import { Index, MetricKind, ScalarKind } from 'usearch';
import { EMBEDDING_DIM } from './embedder';

export interface Neighbour {
  key: number;
  /** Cosine similarity (embeddings are L2-normalised). */
  similarity: number;
}

/**
 * An in-memory USearch (HNSW, cosine) index of face embeddings keyed by face id, for
 * nearest-face lookups. It is never the source of truth: the catalog holds the embeddings and
 * the index is rebuilt from it at start-up (10,000 faces take well under a second).
 */
export class FaceVectorIndex {
  private index: Index;
  private readonly keys = new Set<number>();

  constructor(readonly dimensions = EMBEDDING_DIM) {
    this.index = FaceVectorIndex.create(dimensions);
  }

  private static create(dimensions: number): Index {
    return new Index({
      dimensions,
      metric: MetricKind.Cos,
      quantization: ScalarKind.F32,
      connectivity: 16,
      expansion_add: 64,
      expansion_search: 64,
      multi: false,
    });
  }

  get size(): number {
    return this.keys.size;
  }

  has(key: number): boolean {
    return this.keys.has(key);
  }

  add(key: number, vector: Float32Array): void {
    if (this.keys.has(key)) this.remove(key);
    this.index.add(BigInt(key), vector, 1);
    this.keys.add(key);
  }

  /** Adds many at once (faster than one by one). */
  addMany(keys: readonly number[], vectors: readonly Float32Array[]): void {
    if (keys.length === 0) return;
    for (const k of keys) if (this.keys.has(k)) this.remove(k);
    const flat = new Float32Array(keys.length * this.dimensions);
    vectors.forEach((v, i) => flat.set(v, i * this.dimensions));
    this.index.add(BigUint64Array.from(keys.map((k) => BigInt(k))), flat, 0);
    for (const k of keys) this.keys.add(k);
  }

  remove(key: number): void {
    if (!this.keys.delete(key)) return;
    this.index.remove(BigInt(key));
  }

  clear(): void {
    this.index = FaceVectorIndex.create(this.dimensions);
    this.keys.clear();
  }

  /** The k nearest faces of each query vector (one native batch call, all cores). */
  searchMany(vectors: readonly Float32Array[], k: number): Neighbour[][] {
    if (vectors.length === 0) return [];
    if (this.keys.size === 0 || k <= 0) return vectors.map(() => []);
    const kk = Math.min(k, this.keys.size);
    const flat = new Float32Array(vectors.length * this.dimensions);
    vectors.forEach((v, i) => flat.set(v, i * this.dimensions));
    const m = this.index.search(flat, kk, 0);
    const keys = m.keys;
    const distances = m.distances;
    // A single query comes back as Matches (no counts).
    const counts = 'counts' in m ? (m as { counts: BigUint64Array }).counts : BigUint64Array.of(BigInt(keys.length));
    const out: Neighbour[][] = [];
    for (let q = 0; q < vectors.length; q++) {
      const base = q * kk;
      const n = Number(counts[q]);
      const list: Neighbour[] = [];
      for (let i = 0; i < n; i++) {
        const key = Number(keys[base + i]);
        if (this.keys.has(key)) list.push({ key, similarity: 1 - distances[base + i] });
      }
      out.push(list);
    }
    return out;
  }

  /** The k nearest faces, most similar first. */
  search(vector: Float32Array, k: number): Neighbour[] {
    if (this.keys.size === 0 || k <= 0) return [];
    const m = this.index.search(vector, Math.min(k, this.keys.size), 1);
    const out: Neighbour[] = [];
    for (let i = 0; i < m.keys.length; i++) {
      const key = Number(m.keys[i]);
      if (!this.keys.has(key)) continue;
      out.push({ key, similarity: 1 - m.distances[i] });
    }
    return out;
  }
}
