/**
 * Near-duplicate lookup over many 256-bit PDQ hashes without comparing every pair: multi-index
 * hashing (Norouzi, Punjani & Fleet, "Fast search in Hamming space with multi-index hashing").
 *
 * Each hash is cut into 16 chunks of 16 bits and every chunk is filed in its own 65,536-bucket
 * table. If two hashes are within distance d, their d differing bits fall into 16 chunks, so by
 * pigeonhole at least one chunk differs in at most r = floor(d / 16) bits. For the PDQ match
 * radius 31, r = 1: a query looks, per chunk, at its own bucket and the 16 buckets one bit away
 * (272 buckets of about n / 65,536 hashes each). Every candidate is then checked with the full
 * 256-bit distance, so results are exactly those of brute force, never approximate.
 *
 * All-pairs grouping walks the tables bucket by bucket (each bucket against itself and against its
 * neighbours with a larger key), so it touches memory mostly in order; a pair that meets the
 * per-chunk condition in several chunks is reported only from the first such chunk.
 *
 * Layout: the tables are compact sorted arrays (counting sort), rebuilt lazily. Hashes added since
 * the last build sit in a short pending list that queries scan linearly; removals are tombstones.
 * Either kind of backlog triggers a rebuild once it grows past a small fraction of the index, so
 * add / remove stay cheap (amortised) and queries stay sub-linear.
 *
 * Radii of 48 or more (three or more bits per chunk) fall back to a linear scan / all-pairs scan.
 * Chosen by measurement over a BK-tree and 32 chunks of 8 bits: see test/bench/pdq.ts.
 */
import { PDQ_HASH_BYTES, PDQ_MATCH_DISTANCE, PDQ_MIN_QUALITY } from './pdq';

const WORDS = 8; // 32-bit words per hash
const CHUNKS = 16; // 16-bit chunks per hash
const BUCKETS = 1 << 16;
/** Per-chunk bit radius above which probing costs more than scanning. */
const MAX_PROBE_RADIUS = 2;

export interface PdqMatch<Id> {
  id: Id;
  distance: number;
}

export interface PdqPair<Id> {
  a: Id;
  b: Id;
  distance: number;
}

export interface PdqSearchOptions {
  /** Ignore stored hashes below this quality (default: no filter). For pairs, both need it. */
  minQuality?: number;
}

export interface PdqGroupOptions {
  /** Largest distance that links two images (default 31, the PDQ match threshold). */
  maxDistance?: number;
  /** Both images of a link need at least this quality (default 50). */
  minQuality?: number;
}

const POPCOUNT16 = (() => {
  const t = new Uint8Array(1 << 16);
  for (let i = 1; i < t.length; i++) t[i] = (i & 1) + t[i >> 1];
  return t;
})();

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

function toWords(hash: Uint8Array, out: Uint32Array, at: number): void {
  if (!(hash instanceof Uint8Array) || hash.length !== PDQ_HASH_BYTES) {
    throw new RangeError(`PDQ hash must be a ${PDQ_HASH_BYTES}-byte Uint8Array`);
  }
  for (let w = 0; w < WORDS; w++) {
    const b = 4 * w;
    out[at + w] = ((hash[b] << 24) | (hash[b + 1] << 16) | (hash[b + 2] << 8) | hash[b + 3]) >>> 0;
  }
}

function fromWords(words: Uint32Array, at: number): Uint8Array {
  const out = new Uint8Array(PDQ_HASH_BYTES);
  for (let w = 0; w < WORDS; w++) {
    const v = words[at + w];
    out[4 * w] = v >>> 24;
    out[4 * w + 1] = (v >>> 16) & 255;
    out[4 * w + 2] = (v >>> 8) & 255;
    out[4 * w + 3] = v & 255;
  }
  return out;
}

/** Chunk c of the hash stored at words[at..at+8): the low or high half of word c >> 1. */
function chunkOf(words: Uint32Array, at: number, chunk: number): number {
  const w = words[at + (chunk >> 1)];
  return chunk & 1 ? w >>> 16 : w & 0xffff;
}

/** XOR masks of 16 bits with at most `radius` bits set, 0 first. */
function masksUpTo(radius: number): Int32Array {
  const out: number[] = [0];
  if (radius >= 1) for (let i = 0; i < 16; i++) out.push(1 << i);
  if (radius >= 2) for (let i = 0; i < 16; i++) for (let j = i + 1; j < 16; j++) out.push((1 << i) | (1 << j));
  return Int32Array.from(out);
}
const MASKS = [masksUpTo(0), masksUpTo(1), masksUpTo(2)];

/** An index of 256-bit PDQ hashes keyed by `Id`, for radius queries and all-pairs grouping. */
export class PdqIndex<Id = string> {
  // Slot storage. Slots [0, built) are in the tables; [built, count) are pending.
  private capacity = 0;
  private count = 0;
  private words = new Uint32Array(0);
  private qualities = new Int16Array(0);
  private live = new Uint8Array(0);
  private ids: (Id | undefined)[] = [];
  private readonly slotOf = new Map<Id, number>();
  private dead = 0; // tombstones among [0, count)

  // Tables over slots [0, built): per chunk, bucket start offsets and the slots sorted by key.
  private built = 0;
  private offsets: Int32Array[] = [];
  private entries: Int32Array[] = [];

  private stamps = new Uint32Array(0);
  private stamp = 0;
  private readonly query = new Uint32Array(WORDS);

  constructor(initialCapacity = 1024) {
    this.grow(Math.max(16, initialCapacity));
  }

  /** Number of hashes in the index. */
  get size(): number {
    return this.slotOf.size;
  }

  has(id: Id): boolean {
    return this.slotOf.has(id);
  }

  /** The stored hash and quality of `id`, or undefined. */
  get(id: Id): { hash: Uint8Array; quality: number } | undefined {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return undefined;
    return { hash: fromWords(this.words, slot * WORDS), quality: this.qualities[slot] };
  }

  /** All ids, in insertion order (as of the last compaction). */
  *keys(): IterableIterator<Id> {
    for (let slot = 0; slot < this.count; slot++) if (this.live[slot]) yield this.ids[slot] as Id;
  }

  /** Adds (or replaces) the hash of `id`. Quality defaults to 100 (trusted). */
  add(id: Id, hash: Uint8Array, quality = 100): void {
    if (!Number.isFinite(quality)) throw new RangeError(`quality must be a number, got ${quality}`);
    if (this.slotOf.has(id)) this.remove(id);
    if (this.count === this.capacity) this.grow(this.capacity * 2);
    const slot = this.count++;
    toWords(hash, this.words, slot * WORDS);
    this.qualities[slot] = Math.max(-1, Math.min(32767, Math.round(quality)));
    this.live[slot] = 1;
    this.ids[slot] = id;
    this.slotOf.set(id, slot);
  }

  /** Removes `id`; returns whether it was there. */
  remove(id: Id): boolean {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return false;
    this.live[slot] = 0;
    this.ids[slot] = undefined;
    this.slotOf.delete(id);
    this.dead++;
    return true;
  }

  /** Removes everything. */
  clear(): void {
    this.live.fill(0);
    this.ids = [];
    this.slotOf.clear();
    this.count = 0;
    this.dead = 0;
    this.built = 0;
    this.offsets = [];
    this.entries = [];
  }

  /** Every stored hash within `maxDistance` of `hash`, nearest first (ties in insertion order). */
  radiusSearch(hash: Uint8Array, maxDistance: number = PDQ_MATCH_DISTANCE, options: PdqSearchOptions = {}): PdqMatch<Id>[] {
    toWords(hash, this.query, 0);
    const found: number[] = []; // slot, distance, slot, distance...
    this.search(this.query, maxDistance, options.minQuality ?? -Infinity, (slot, d) => {
      found.push(slot, d);
    });
    return this.sortMatches(found);
  }

  /**
   * Radius search with several query hashes at once (e.g. the eight pdqDihedral variants of one
   * image, so rotated or mirrored copies are found); each id is reported once, at its best distance.
   */
  radiusSearchAny(hashes: readonly Uint8Array[], maxDistance: number = PDQ_MATCH_DISTANCE, options: PdqSearchOptions = {}): PdqMatch<Id>[] {
    const best = new Map<number, number>();
    for (const hash of hashes) {
      toWords(hash, this.query, 0);
      this.search(this.query, maxDistance, options.minQuality ?? -Infinity, (slot, d) => {
        const had = best.get(slot);
        if (had === undefined || d < had) best.set(slot, d);
      });
    }
    const flat: number[] = [];
    for (const [slot, d] of best) flat.push(slot, d);
    return this.sortMatches(flat);
  }

  /** Every unordered pair of stored hashes within `maxDistance`, each pair once (a added before b). */
  allPairs(maxDistance: number = PDQ_MATCH_DISTANCE, options: PdqSearchOptions = {}): PdqPair<Id>[] {
    const pairs: PdqPair<Id>[] = [];
    this.pairs(maxDistance, options.minQuality ?? -Infinity, (x, y, d) => {
      pairs.push({ a: this.ids[x] as Id, b: this.ids[y] as Id, distance: d });
    });
    return pairs;
  }

  /**
   * Near-duplicate groups: connected components of the relation "within maxDistance and both of
   * quality at least minQuality" (single link: A~B and B~C put A, B and C together). Only groups
   * of two or more, largest first; members in insertion order.
   */
  nearDuplicateGroups(options: PdqGroupOptions = {}): Id[][] {
    const maxDistance = options.maxDistance ?? PDQ_MATCH_DISTANCE;
    const minQuality = options.minQuality ?? PDQ_MIN_QUALITY;
    this.rebuild(); // compacts, so slots are dense
    const parent = new Int32Array(this.count);
    for (let i = 0; i < parent.length; i++) parent[i] = i;
    const find = (x: number): number => {
      while (parent[x] !== x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
      }
      return x;
    };
    this.pairs(maxDistance, minQuality, (x, y) => {
      const rx = find(x);
      const ry = find(y);
      if (rx !== ry) parent[Math.max(rx, ry)] = Math.min(rx, ry);
    });
    const groups = new Map<number, Id[]>();
    for (let slot = 0; slot < this.count; slot++) {
      const root = find(slot);
      const g = groups.get(root);
      if (g) g.push(this.ids[slot] as Id);
      else groups.set(root, [this.ids[slot] as Id]);
    }
    return [...groups.values()].filter((g) => g.length > 1).sort((x, y) => y.length - x.length);
  }

  // ------------------------------------------------------------ internals

  private grow(capacity: number): void {
    const words = new Uint32Array(capacity * WORDS);
    words.set(this.words.subarray(0, this.count * WORDS));
    this.words = words;
    const qualities = new Int16Array(capacity);
    qualities.set(this.qualities.subarray(0, this.count));
    this.qualities = qualities;
    const live = new Uint8Array(capacity);
    live.set(this.live.subarray(0, this.count));
    this.live = live;
    this.capacity = capacity;
  }

  /** Backlog a query tolerates before the tables are rebuilt. */
  private backlogLimit(): number {
    return 256 + (this.built >> 6);
  }

  private maybeRebuild(): void {
    if (this.count - this.built > this.backlogLimit() || this.dead > this.backlogLimit()) this.rebuild();
  }

  /** Drops tombstones (renumbering slots) and rebuilds the chunk tables over every slot. */
  private rebuild(): void {
    if (this.dead > 0) {
      let to = 0;
      for (let from = 0; from < this.count; from++) {
        if (!this.live[from]) continue;
        if (to !== from) {
          this.words.copyWithin(to * WORDS, from * WORDS, (from + 1) * WORDS);
          this.qualities[to] = this.qualities[from];
          this.live[to] = 1;
          this.ids[to] = this.ids[from];
          this.slotOf.set(this.ids[to] as Id, to);
        }
        to++;
      }
      this.live.fill(0, to, this.count);
      this.ids.length = to;
      this.count = to;
      this.dead = 0;
      this.built = 0; // slots were renumbered: the tables are stale
    }
    if (this.built === this.count && this.offsets.length === CHUNKS) return;
    const n = this.count;
    const offsets: Int32Array[] = [];
    const entries: Int32Array[] = [];
    for (let c = 0; c < CHUNKS; c++) {
      const start = new Int32Array(BUCKETS + 1);
      for (let s = 0; s < n; s++) start[chunkOf(this.words, s * WORDS, c) + 1]++;
      for (let k = 0; k < BUCKETS; k++) start[k + 1] += start[k];
      const fill = start.slice(0, BUCKETS);
      const list = new Int32Array(n);
      for (let s = 0; s < n; s++) list[fill[chunkOf(this.words, s * WORDS, c)]++] = s;
      offsets.push(start);
      entries.push(list);
    }
    this.offsets = offsets;
    this.entries = entries;
    this.built = n;
    if (this.stamps.length < this.capacity) this.stamps = new Uint32Array(this.capacity);
  }

  private distance(q: Uint32Array, slot: number): number {
    const w = this.words;
    const s = slot * WORDS;
    return (
      popcount32(q[0] ^ w[s]) +
      popcount32(q[1] ^ w[s + 1]) +
      popcount32(q[2] ^ w[s + 2]) +
      popcount32(q[3] ^ w[s + 3]) +
      popcount32(q[4] ^ w[s + 4]) +
      popcount32(q[5] ^ w[s + 5]) +
      popcount32(q[6] ^ w[s + 6]) +
      popcount32(q[7] ^ w[s + 7])
    );
  }

  private sortMatches(flat: number[]): PdqMatch<Id>[] {
    const order: number[] = [];
    for (let i = 0; i < flat.length; i += 2) order.push(i);
    order.sort((x, y) => flat[x + 1] - flat[y + 1] || flat[x] - flat[y]);
    return order.map((i) => ({ id: this.ids[flat[i]] as Id, distance: flat[i + 1] }));
  }

  /** Calls emit(slot, distance) for every live slot within maxDistance of the query words q. */
  private search(q: Uint32Array, maxDistance: number, minQuality: number, emit: (slot: number, distance: number) => void): void {
    if (!(maxDistance >= 0)) return;
    const radius = Math.floor(maxDistance / CHUNKS);
    const { live, qualities } = this;
    if (radius > MAX_PROBE_RADIUS) {
      for (let slot = 0; slot < this.count; slot++) {
        if (!live[slot] || qualities[slot] < minQuality) continue;
        const d = this.distance(q, slot);
        if (d <= maxDistance) emit(slot, d);
      }
      return;
    }
    this.maybeRebuild();
    if (this.built > 0) {
      if (++this.stamp === 0xffffffff) {
        this.stamps.fill(0);
        this.stamp = 1;
      }
      const stamp = this.stamp;
      const stamps = this.stamps;
      const masks = MASKS[radius];
      for (let c = 0; c < CHUNKS; c++) {
        const word = q[c >> 1];
        const key = c & 1 ? word >>> 16 : word & 0xffff;
        const start = this.offsets[c];
        const list = this.entries[c];
        for (let m = 0; m < masks.length; m++) {
          const k = key ^ masks[m];
          for (let e = start[k], end = start[k + 1]; e < end; e++) {
            const slot = list[e];
            if (stamps[slot] === stamp) continue;
            stamps[slot] = stamp;
            if (!live[slot] || qualities[slot] < minQuality) continue;
            const d = this.distance(q, slot);
            if (d <= maxDistance) emit(slot, d);
          }
        }
      }
    }
    for (let slot = this.built; slot < this.count; slot++) {
      if (!live[slot] || qualities[slot] < minQuality) continue;
      const d = this.distance(q, slot);
      if (d <= maxDistance) emit(slot, d);
    }
  }

  /** Calls emit(x, y, distance) with x < y for every pair of live slots within maxDistance. */
  private pairs(maxDistance: number, minQuality: number, emit: (x: number, y: number, distance: number) => void): void {
    if (!(maxDistance >= 0)) return;
    this.rebuild();
    const n = this.count;
    const { words, qualities } = this;
    const radius = Math.floor(maxDistance / CHUNKS);
    if (radius > MAX_PROBE_RADIUS) {
      for (let x = 0; x < n; x++) {
        if (qualities[x] < minQuality) continue;
        this.query.set(words.subarray(x * WORDS, (x + 1) * WORDS));
        for (let y = x + 1; y < n; y++) {
          if (qualities[y] < minQuality) continue;
          const d = this.distance(this.query, y);
          if (d <= maxDistance) emit(x, y, d);
        }
      }
      return;
    }
    const masks = MASKS[radius];
    // Per chunk, the hashes are copied in bucket order so candidate checks read memory in order.
    const sorted = new Uint32Array(n * WORDS);
    const sortedQuality = new Int16Array(n);
    for (let c = 0; c < CHUNKS; c++) {
      const start = this.offsets[c];
      const list = this.entries[c];
      for (let e = 0; e < n; e++) {
        const slot = list[e];
        for (let w = 0; w < WORDS; w++) sorted[e * WORDS + w] = words[slot * WORDS + w];
        sortedQuality[e] = qualities[slot];
      }
      // A candidate (entries i and j, found through chunk c) is reported when its full distance is
      // small enough and no earlier chunk also qualifies (that chunk reports it instead).
      const check = (i: number, j: number): void => {
        if (sortedQuality[i] < minQuality || sortedQuality[j] < minQuality) return;
        const si = i * WORDS;
        const sj = j * WORDS;
        let d = 0;
        for (let w = 0; w < WORDS; w++) {
          const diff = sorted[si + w] ^ sorted[sj + w];
          const lo = POPCOUNT16[diff & 0xffff];
          const hi = POPCOUNT16[diff >>> 16];
          if ((2 * w < c && lo <= radius) || (2 * w + 1 < c && hi <= radius)) return;
          d += lo + hi;
          if (d > maxDistance) return;
        }
        const x = list[i];
        const y = list[j];
        if (x < y) emit(x, y, d);
        else emit(y, x, d);
      };
      for (let k = 0; k < BUCKETS; k++) {
        const b0 = start[k];
        const b1 = start[k + 1];
        if (b0 === b1) continue;
        // Pairs inside the bucket.
        for (let i = b0; i < b1; i++) for (let j = i + 1; j < b1; j++) check(i, j);
        // Pairs with neighbouring buckets of a larger key (each bucket pair visited once).
        for (let m = 1; m < masks.length; m++) {
          const k2 = k ^ masks[m];
          if (k2 < k) continue;
          const e1 = start[k2 + 1];
          for (let j = start[k2]; j < e1; j++) for (let i = b0; i < b1; i++) check(i, j);
        }
      }
    }
  }
}
