/**
 * Grouping face embeddings (L2-normalised, cosine) into identities.
 *
 * `densityCluster` is what Loupe uses: DBSCAN* (HDBSCAN's flat cut at one density level) with
 * cannot-link constraints. Core faces have at least `minPts - 1` other faces within `eps`; links
 * between core faces are weighted by mutual-reachability distance max(core_a, core_b, d(a, b))
 * and joined strongest first (Kruskal), refusing any join that would put two faces of one photo,
 * two different confirmed people, or a face and a person it was rejected from, in one group.
 * Non-core faces within eps of a core face join its group (nearest first) under the same rules.
 *
 * `dbscan` and `immichCluster` are the baselines it was measured against (test/bench/faces.ts).
 */
import { FaceVectorIndex } from './vector-index';
import { topIndices } from '../util/top-k';

/** Per item, its nearest other items, most similar first. */
export interface KnnGraph {
  ids: Int32Array[];
  sims: Float32Array[];
}

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export interface KnnOptions {
  /**
   * Nearest-neighbour search to use instead of a fresh index: for each item in `items`, up to k
   * pool items most similar to it (the item itself may be among them), as pool indices.
   */
  search?: (items: readonly number[], k: number) => Array<Array<{ index: number; similarity: number }>>;
  /**
   * When even the k-th neighbour is this similar, the neighbours are near-duplicates (a burst of
   * shots of one moment) and the list is widened (x4, up to maxK) so links to the person's other
   * photos are not crowded out. Default 0.9.
   */
  expandAbove?: number;
  maxK?: number;
}

/** k nearest neighbours of every vector (exact below 3,000 vectors, HNSW above). */
export function knnGraph(vectors: readonly Float32Array[], k: number, options: KnnOptions = {}): KnnGraph {
  const n = vectors.length;
  const expandAbove = options.expandAbove ?? 0.9;
  const maxK = Math.min(options.maxK ?? 128, Math.max(0, n - 1));
  const ids: Int32Array[] = new Array(n);
  const sims: Float32Array[] = new Array(n);
  const keep = (i: number, found: Array<{ index: number; similarity: number }>, kk: number) => {
    const list = found.filter((m) => m.index !== i).slice(0, kk);
    ids[i] = Int32Array.from(list, (m) => m.index);
    sims[i] = Float32Array.from(list, (m) => m.similarity);
    return list.length === kk && kk < maxK && list[kk - 1].similarity >= expandAbove;
  };
  let search = options.search;
  if (!search && n <= 3000) {
    const all = new Float32Array(n);
    // One pass computes every similarity: take maxK at once and cut per item.
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) all[j] = j === i ? -Infinity : dot(vectors[i], vectors[j]);
      const found = topIndices(all, maxK).map((j) => ({ index: j, similarity: all[j] }));
      let kk = Math.min(k, maxK);
      while (keep(i, found, kk)) kk = Math.min(maxK, kk * 4);
    }
    return { ids, sims };
  }
  if (!search) {
    const index = new FaceVectorIndex(vectors[0].length);
    index.addMany(vectors.map((_, i) => i), vectors);
    search = (items, kk) => index.searchMany(items.map((i) => vectors[i]), kk).map((l) => l.map((m) => ({ index: m.key, similarity: m.similarity })));
  }
  let kk = Math.min(k, maxK);
  let pending = vectors.map((_, i) => i);
  while (pending.length > 0 && kk > 0) {
    const results = search(pending, kk + 1);
    const wider: number[] = [];
    pending.forEach((i, q) => {
      if (keep(i, results[q], kk)) wider.push(i);
    });
    pending = wider;
    kk = Math.min(maxK, kk * 4);
  }
  for (let i = 0; i < n; i++) {
    ids[i] ??= new Int32Array(0);
    sims[i] ??= new Float32Array(0);
  }
  return { ids, sims };
}


/** What must never end up in one group. */
export interface LinkConstraints {
  /** Photo of each item: two faces of one photo are never one person. */
  asset: ArrayLike<number>;
  /** Confirmed person of each item, or -1. Items confirmed as different people never group. */
  person?: ArrayLike<number>;
  /** People each item was rejected from ("not Ana"): it never groups with their confirmed faces. */
  forbidden?: ReadonlyArray<ReadonlySet<number> | undefined>;
}

/** Union-find whose groups remember their photos, confirmed people and rejected people. */
export class ConstrainedUnion {
  private readonly parent: Int32Array;
  private readonly assets: Array<Set<number> | null>;
  private readonly persons: Array<Set<number> | null>;
  private readonly forbidden: Array<Set<number> | null>;

  constructor(n: number, c: LinkConstraints) {
    this.parent = Int32Array.from({ length: n }, (_, i) => i);
    this.assets = Array.from({ length: n }, (_, i) => new Set([c.asset[i]]));
    this.persons = Array.from({ length: n }, (_, i) => {
      const p = c.person?.[i] ?? -1;
      return p >= 0 ? new Set([p]) : new Set<number>();
    });
    this.forbidden = Array.from({ length: n }, (_, i) => new Set(c.forbidden?.[i] ?? []));
  }

  find(x: number): number {
    let r = x;
    while (this.parent[r] !== r) r = this.parent[r];
    while (this.parent[x] !== r) {
      const next = this.parent[x];
      this.parent[x] = r;
      x = next;
    }
    return r;
  }

  canMerge(a: number, b: number): boolean {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return true;
    const [sa, sb] = [this.assets[ra]!, this.assets[rb]!];
    const [small, large] = sa.size <= sb.size ? [sa, sb] : [sb, sa];
    for (const x of small) if (large.has(x)) return false;
    const pa = this.persons[ra]!;
    const pb = this.persons[rb]!;
    for (const p of pa) if (pb.size > 0 && !pb.has(p)) return false;
    for (const p of pa) if (this.forbidden[rb]!.has(p)) return false;
    for (const p of pb) if (this.forbidden[ra]!.has(p)) return false;
    return true;
  }

  /** Joins the groups of a and b if no constraint forbids it; returns whether they are one group now. */
  union(a: number, b: number): boolean {
    if (!this.canMerge(a, b)) return false;
    let ra = this.find(a);
    let rb = this.find(b);
    if (ra === rb) return true;
    if (this.assets[ra]!.size < this.assets[rb]!.size) [ra, rb] = [rb, ra];
    this.parent[rb] = ra;
    for (const x of this.assets[rb]!) this.assets[ra]!.add(x);
    for (const x of this.persons[rb]!) this.persons[ra]!.add(x);
    for (const x of this.forbidden[rb]!) this.forbidden[ra]!.add(x);
    this.assets[rb] = this.persons[rb] = this.forbidden[rb] = null;
    return true;
  }
}

export interface DensityParams {
  /** Cosine distance (1 - similarity) within which faces are neighbours. */
  eps: number;
  /** A core face has at least minPts - 1 other faces within eps (minPts counts the face itself). */
  minPts: number;
  /** Smaller groups are left ungrouped. */
  minClusterSize: number;
  /**
   * Two groups (or a face and a group) only join when the average cosine similarity over all
   * their cross pairs is at least this: the guard against single-link chaining through blurry or
   * in-between faces. Computed exactly from running sums of the (unit) vectors. 0 disables it.
   */
  minAverageSimilarity?: number;
}

export interface Clustering {
  /** Group number per item, -1 = not grouped. Groups are numbered 0.. in order of size, largest first. */
  labels: Int32Array;
  /** Per item: similarity of the link that brought it into its group (0 when not grouped). */
  strength: Float32Array;
  count: number;
}

function finish(n: number, root: (i: number) => number, grouped: (i: number) => boolean, minSize: number, strength: Float32Array): Clustering {
  const members = new Map<number, number[]>();
  for (let i = 0; i < n; i++) {
    if (!grouped(i)) continue;
    const r = root(i);
    let list = members.get(r);
    if (!list) members.set(r, (list = []));
    list.push(i);
  }
  const groups = [...members.values()].filter((m) => m.length >= minSize).sort((a, b) => b.length - a.length || a[0] - b[0]);
  const labels = new Int32Array(n).fill(-1);
  groups.forEach((g, gi) => g.forEach((i) => (labels[i] = gi)));
  for (let i = 0; i < n; i++) if (labels[i] < 0) strength[i] = 0;
  return { labels, strength, count: groups.length };
}

/** Loupe's grouping: constrained DBSCAN* (see the file comment). */
export function densityCluster(
  graph: KnnGraph,
  params: DensityParams,
  constraints: LinkConstraints,
  vectors?: readonly Float32Array[],
): Clustering {
  const n = graph.ids.length;
  const { eps, minPts, minClusterSize } = params;
  const minAvg = params.minAverageSimilarity ?? 0;
  const guard = minAvg > 0 && vectors !== undefined ? new AverageLinkGuard(vectors) : null;
  const minSim = 1 - eps;
  const core = new Float32Array(n).fill(Infinity);
  for (let i = 0; i < n; i++) {
    const k = minPts - 2;
    if (k < 0) core[i] = 0;
    else if (graph.sims[i].length > k) core[i] = 1 - graph.sims[i][k];
  }
  const isCore = (i: number) => core[i] <= eps;
  const edges: Array<[number, number, number, number]> = [];
  for (let i = 0; i < n; i++) {
    if (!isCore(i)) continue;
    const ids = graph.ids[i];
    const sims = graph.sims[i];
    for (let t = 0; t < ids.length && sims[t] >= minSim; t++) {
      const j = ids[t];
      if (!isCore(j) || (j < i && graph.ids[j].includes(i))) continue; // each pair once
      edges.push([Math.max(core[i], core[j], 1 - sims[t]), i, j, sims[t]]);
    }
  }
  edges.sort((a, b) => a[0] - b[0] || b[3] - a[3]);
  const uf = new ConstrainedUnion(n, constraints);
  const strength = new Float32Array(n);
  const join = (i: number, j: number): boolean => {
    const ri = uf.find(i);
    const rj = uf.find(j);
    if (ri === rj) return true;
    if (guard && guard.average(ri, rj) < minAvg) return false;
    if (!uf.union(i, j)) return false;
    guard?.merge(ri, rj, uf.find(i));
    return true;
  };
  for (const [, i, j, s] of edges) {
    if (uf.find(i) !== uf.find(j) && join(i, j)) {
      strength[i] = Math.max(strength[i], s);
      strength[j] = Math.max(strength[j], s);
    }
  }
  // Border faces: the nearest core face within eps whose group accepts them, closest pairs first.
  const border: Array<[number, number, number]> = [];
  for (let i = 0; i < n; i++) {
    if (isCore(i)) continue;
    const ids = graph.ids[i];
    const sims = graph.sims[i];
    for (let t = 0; t < ids.length && sims[t] >= minSim; t++) if (isCore(ids[t])) border.push([sims[t], i, ids[t]]);
  }
  border.sort((a, b) => b[0] - a[0]);
  const attached = new Uint8Array(n);
  for (const [s, i, j] of border) {
    if (attached[i]) continue;
    if (join(j, i)) {
      attached[i] = 1;
      strength[i] = s;
    }
  }
  return finish(n, (i) => uf.find(i), (i) => isCore(i) || attached[i] === 1, minClusterSize, strength);
}

/** Running vector sums and sizes per group: the average cross-group cosine in O(dimensions). */
class AverageLinkGuard {
  private readonly sums: Array<Float64Array | null>;
  private readonly sizes: Int32Array;

  constructor(vectors: readonly Float32Array[]) {
    this.sums = vectors.map((v) => Float64Array.from(v));
    this.sizes = new Int32Array(vectors.length).fill(1);
  }

  average(ra: number, rb: number): number {
    const a = this.sums[ra]!;
    const b = this.sums[rb]!;
    let s = 0;
    for (let i = 0; i < a.length; i++) s += a[i] * b[i];
    return s / (this.sizes[ra] * this.sizes[rb]);
  }

  merge(ra: number, rb: number, into: number): void {
    const other = into === ra ? rb : ra;
    const t = this.sums[into]!;
    const o = this.sums[other]!;
    for (let i = 0; i < t.length; i++) t[i] += o[i];
    this.sizes[into] += this.sizes[other];
    this.sums[other] = null;
  }
}

/** Baseline: plain DBSCAN (no constraints, border faces go to the first group that reaches them). */
export function dbscan(graph: KnnGraph, eps: number, minPts: number): Clustering {
  const n = graph.ids.length;
  const minSim = 1 - eps;
  const neighbours = (i: number) => {
    const out: number[] = [];
    for (let t = 0; t < graph.ids[i].length && graph.sims[i][t] >= minSim; t++) out.push(graph.ids[i][t]);
    return out;
  };
  const labels = new Int32Array(n).fill(-2); // -2 unvisited, -1 noise
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (labels[i] !== -2) continue;
    const nb = neighbours(i);
    if (nb.length + 1 < minPts) {
      labels[i] = -1;
      continue;
    }
    const c = count++;
    labels[i] = c;
    const queue = [...nb];
    while (queue.length) {
      const j = queue.pop() as number;
      if (labels[j] === -1) labels[j] = c;
      if (labels[j] !== -2) continue;
      labels[j] = c;
      const nj = neighbours(j);
      if (nj.length + 1 >= minPts) queue.push(...nj);
    }
  }
  const strength = new Float32Array(n);
  return finish(n, (i) => labels[i], (i) => labels[i] >= 0, 1, strength);
}

/**
 * Baseline: Immich's incremental approach, as documented and implemented by Immich: faces are
 * visited in order; a face with at least `minFaces` faces (itself included) within `maxDistance`
 * is "core" and joins the person of its nearest matching face that has one, or starts a new
 * person; other faces wait for a second pass where they join the nearest person within
 * maxDistance, if any. No cannot-link constraints.
 */
export function immichCluster(vectors: readonly Float32Array[], maxDistance: number, minFaces: number): Clustering {
  const n = vectors.length;
  const person = new Int32Array(n).fill(-1);
  const minSim = 1 - maxDistance;
  let persons = 0;
  const matches = (i: number) => {
    const out: Array<[number, number]> = [];
    for (let j = 0; j < n; j++) {
      const s = j === i ? 1 : dot(vectors[i], vectors[j]);
      if (s >= minSim) out.push([s, j]);
    }
    return out.sort((a, b) => b[0] - a[0]);
  };
  const deferred: number[] = [];
  const visit = (i: number, isDeferred: boolean) => {
    const m = matches(i);
    const core = m.length >= minFaces;
    let p = -1;
    for (const [, j] of m.slice(0, minFaces)) if (j !== i && person[j] >= 0) { p = person[j]; break; }
    if (p < 0) for (const [, j] of m) if (j !== i && person[j] >= 0) { p = person[j]; break; }
    if (!core && !isDeferred) {
      deferred.push(i);
      return;
    }
    if (p < 0 && core) p = persons++;
    if (p >= 0) person[i] = p;
  };
  for (let i = 0; i < n; i++) visit(i, false);
  for (const i of deferred) visit(i, true);
  const strength = new Float32Array(n);
  return finish(n, (i) => person[i], (i) => person[i] >= 0, 1, strength);
}
