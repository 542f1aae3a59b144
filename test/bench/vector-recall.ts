/**
 * Approximate (USearch HNSW, as the product builds it) against exact nearest neighbours, shared by the
 * clip (512-d) and tags (1280-d "more like this") benchmarks: synthetic clustered unit vectors, exact
 * top-k by a plain scan, recall@10 and latency of both.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { exactSearch, MetricKind } from 'usearch';
import { newHnswIndex, type Quantization } from '../../sidecar/vectors/embedding-index';
import { log, quantile, round } from './common';

export function percentile(values: number[], q: number): number {
  return round(quantile([...values].sort((a, b) => a - b), q), 2);
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Resident memory after a full GC (so garbage from earlier steps does not count). */
export function rssMB(): number {
  gc();
  return round(process.memoryUsage().rss / 1e6, 0);
}

function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/**
 * Deterministic clustered unit vectors: `n` draws around `centres` random directions (real embeddings
 * are clustered, not uniform). The centres depend only on `dim`, so two calls with different seeds
 * draw from the same clusters (held-out queries).
 */
export function clusteredVectors(n: number, dim: number, seed: number, centres = 256, spread = 0.6): Float32Array {
  const rand = xorshift(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
  const crand = xorshift(0x9e3779b9);
  const cg = () => Math.sqrt(-2 * Math.log(crand() + 1e-12)) * Math.cos(2 * Math.PI * crand());
  const centre = new Float32Array(centres * dim);
  for (let i = 0; i < centre.length; i++) centre[i] = cg();
  const out = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * centres);
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      const v = centre[k * dim + d] / Math.sqrt(dim) + (spread * gauss()) / Math.sqrt(dim);
      out[i * dim + d] = v;
      norm += v * v;
    }
    const inv = 1 / Math.sqrt(norm);
    for (let d = 0; d < dim; d++) out[i * dim + d] *= inv;
  }
  return out;
}

/** The k best rows by dot product: the brute-force scan a product without an index would run. */
export function exactTop(vectors: Float32Array, dim: number, n: number, q: Float32Array, k: number): number[] {
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dim;
    for (let d = 0; d < dim; d++) s += vectors[o + d] * q[d];
    scores[i] = s;
  }
  // Partial selection: keep the k best seen so far (k is small).
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    if (best.length === k && scores[i] <= scores[best[k - 1]]) continue;
    let j = best.length < k ? best.length : k - 1;
    while (j > 0 && scores[best[j - 1]] < scores[i]) j--;
    best.splice(j, 0, i);
    if (best.length > k) best.pop();
  }
  return best;
}

export interface RecallRow {
  /** Top 10 of a k=10 search (HNSW expansion 64). */
  recallAt10: number;
  /** Top 10 of a k=100 search, what "more like this" asks for. */
  recallAt10Of100: number;
  /** Top 10 of a k=1000 search, which is what a text query asks for (CANDIDATES). */
  recallAt10Of1000: number;
  buildSeconds: number;
  searchMsP50: number;
  searchMsP99: number;
  search1000MsP50: number;
  memoryMB: number;
}

export interface ExactRow {
  /** Plain JavaScript scan (dot products + top-10 selection), one query at a time. */
  jsScanMsP50: number;
  jsScanMsP99: number;
  /** USearch's own SIMD exact search over the same f32 matrix, one thread, one query at a time. */
  simdScanMsP50: number;
  simdScanMsP99: number;
}

export interface VectorRecall {
  dimensions: number;
  vectors: number;
  queries: number;
  exact: ExactRow;
  hnsw: Partial<Record<Quantization, RecallRow>>;
  /** Median brute-force latency / median HNSW k=10 latency, per quantisation (higher: HNSW faster). */
  speedupVsJsScan: Partial<Record<Quantization, number>>;
  speedupVsSimdScan: Partial<Record<Quantization, number>>;
}

/** Builds each HNSW variant over `n` vectors and compares it with exact search on `nq` held-out queries. */
export async function measureVectorRecall(
  dim: number,
  n: number,
  nq: number,
  quantizations: Quantization[] = ['f32', 'f16', 'i8'],
  seed = 7,
): Promise<VectorRecall> {
  const vectors = clusteredVectors(n, dim, seed + n);
  const queries = clusteredVectors(nq, dim, 99 + n);
  const query = (i: number) => queries.subarray(i * dim, (i + 1) * dim);
  const jsTimes: number[] = [];
  const truth: Set<number>[] = [];
  for (let i = 0; i < nq; i++) {
    const t = performance.now();
    truth.push(new Set(exactTop(vectors, dim, n, query(i), 10)));
    jsTimes.push(performance.now() - t);
  }
  const simdTimes: number[] = [];
  for (let i = 0; i < nq; i++) {
    const t = performance.now();
    exactSearch(vectors, query(i), dim, 10, MetricKind.Cos, 1);
    simdTimes.push(performance.now() - t);
  }
  const exact: ExactRow = {
    jsScanMsP50: percentile(jsTimes, 0.5),
    jsScanMsP99: percentile(jsTimes, 0.99),
    simdScanMsP50: percentile(simdTimes, 0.5),
    simdScanMsP99: percentile(simdTimes, 0.99),
  };
  log(`exact top-10 over ${n} × ${dim}-d: JS scan p50 ${exact.jsScanMsP50} ms, USearch SIMD scan p50 ${exact.simdScanMsP50} ms`);
  const hnsw: Partial<Record<Quantization, RecallRow>> = {};
  const speedupVsJsScan: Partial<Record<Quantization, number>> = {};
  const speedupVsSimdScan: Partial<Record<Quantization, number>> = {};
  for (const q of quantizations) {
    const before = rssMB();
    const t0 = performance.now();
    const index = newHnswIndex(dim, q);
    index.add(BigUint64Array.from({ length: n }, (_, i) => BigInt(i)), vectors, 0);
    const buildSeconds = round((performance.now() - t0) / 1000, 1);
    let hits = 0;
    let hits100 = 0;
    let hits1000 = 0;
    const times: number[] = [];
    const times1000: number[] = [];
    for (let i = 0; i < nq; i++) {
      let t = performance.now();
      const m = index.search(query(i), 10, 1);
      times.push(performance.now() - t);
      for (const key of m.keys) if (truth[i].has(Number(key))) hits++;
      for (const key of index.search(query(i), 100, 1).keys.slice(0, 10)) if (truth[i].has(Number(key))) hits100++;
      t = performance.now();
      const wide = index.search(query(i), 1000, 1);
      times1000.push(performance.now() - t);
      for (const key of wide.keys.slice(0, 10)) if (truth[i].has(Number(key))) hits1000++;
    }
    const row: RecallRow = {
      recallAt10: round(hits / (nq * 10), 4),
      recallAt10Of100: round(hits100 / (nq * 10), 4),
      recallAt10Of1000: round(hits1000 / (nq * 10), 4),
      buildSeconds,
      searchMsP50: percentile(times, 0.5),
      searchMsP99: percentile(times, 0.99),
      search1000MsP50: percentile(times1000, 0.5),
      memoryMB: rssMB() - before,
    };
    hnsw[q] = row;
    speedupVsJsScan[q] = round(exact.jsScanMsP50 / Math.max(1e-3, row.searchMsP50), 1);
    speedupVsSimdScan[q] = round(exact.simdScanMsP50 / Math.max(1e-3, row.searchMsP50), 1);
    log(`HNSW ${q} over ${n} × ${dim}-d: recall@10 ${row.recallAt10} (100-wide ${row.recallAt10Of100}, 1000-wide ${row.recallAt10Of1000}), p50 ${row.searchMsP50} ms, ${speedupVsJsScan[q]}× the JS scan, ${speedupVsSimdScan[q]}× the SIMD scan (build ${buildSeconds} s)`);
  }
  return { dimensions: dim, vectors: n, queries: nq, exact, hnsw, speedupVsJsScan, speedupVsSimdScan };
}
