/**
 * Reciprocal rank fusion and the small data structures the engine's hot loop uses.
 *
 * RRF: score(asset) = sum over signals s of weight_s / (k + rank_s(asset)), with k = 60. Ranks are
 * competition ranks ("1224"): assets with equal signal scores share a rank, so ties inside one
 * signal never turn into arbitrary score differences. Displayed scores are divided by the best
 * possible sum (rank 1 in every signal that ranked the query), so they lie in 0..1.
 */
import type { SearchTable } from './table';
import type { RankedList } from './types';

export const RRF_K = 60;

/**
 * Per-slot values reset lazily with a stamp, so a query never clears whole arrays: a slot is "touched"
 * in the current round when `stamps[slot] === stamp`. Hot loops read the fields directly.
 */
export class Scratch {
  value = new Float64Array(0);
  bits = new Uint32Array(0);
  count = new Uint16Array(0);
  /** Slots touched this round, in order (callers keep the count). */
  list = new Int32Array(0);
  stamps = new Uint32Array(0);
  stamp = 0;

  ensure(size: number): void {
    if (this.stamps.length >= size) return;
    const n = Math.max(size, this.stamps.length * 2, 1024);
    this.value = new Float64Array(n);
    this.bits = new Uint32Array(n);
    this.count = new Uint16Array(n);
    this.list = new Int32Array(n);
    this.stamps = new Uint32Array(n);
    this.stamp = 0;
  }

  /** Starts a new round: every slot reads as untouched. */
  next(): void {
    if (++this.stamp === 0xffffffff) {
      this.stamps.fill(0);
      this.stamp = 1;
    }
  }

  touched(slot: number): boolean {
    return this.stamps[slot] === this.stamp;
  }

  touch(slot: number): void {
    this.stamps[slot] = this.stamp;
  }
}

/** Marks lists built from the engine's own table (the built-in signal): their slots skip the id lookup. */
export const OWN_SLOTS = Symbol('loupe.search.ownSlots');

/** A list whose slots are valid while the table's generation is unchanged. */
export interface SlotRankedList extends RankedList {
  [OWN_SLOTS]: { slots: Int32Array; generation: number };
}

export function ownSlots(list: RankedList, table: SearchTable): Int32Array | null {
  const own = (list as Partial<SlotRankedList>)[OWN_SLOTS];
  return own && own.generation === table.generation ? own.slots : null;
}

/**
 * Adds one list's RRF contributions into `acc` (value: fused sum, bits: which lists matched); slots
 * touched for the first time this round are appended to `acc.list` after the first `count` entries.
 * Returns the new count. An id listed twice counts once, at its best rank.
 */
export function accumulate(
  list: RankedList,
  weight: number,
  bit: number,
  k: number,
  table: SearchTable,
  acc: Scratch,
  seen: Scratch,
  count: number,
): number {
  const scores = list.scores;
  const own = ownSlots(list, table);
  const ids = own === null ? list.ids : null;
  const n = Math.min(own !== null ? own.length : ids!.length, scores.length);
  let order: number[] | null = null;
  for (let i = own !== null ? n : 1; i < n; i++) {
    if (scores[i] > scores[i - 1]) {
      order = Array.from({ length: n }, (_, j) => j).sort((a, b) => (scores[b] || 0) - (scores[a] || 0));
      break;
    }
  }
  const stamps = acc.stamps;
  const stamp = acc.stamp;
  const value = acc.value;
  const bits = acc.bits;
  const touched = acc.list;
  if (own === null) seen.next();
  let rank = 0;
  let prev = Number.NaN;
  for (let j = 0; j < n; j++) {
    const i = order === null ? j : order[j];
    const score = scores[i];
    if (score !== prev) {
      rank = j + 1;
      prev = score;
    }
    let slot: number;
    if (own !== null) slot = own[i]; // the engine's own lists hold each slot once
    else {
      slot = table.slotOf(ids![i]);
      if (slot < 0 || seen.stamps[slot] === seen.stamp) continue;
      seen.stamps[slot] = seen.stamp;
    }
    if (stamps[slot] !== stamp) {
      stamps[slot] = stamp;
      value[slot] = 0;
      bits[slot] = 0;
      touched[count++] = slot;
    }
    value[slot] += weight / (k + rank);
    bits[slot] |= bit;
  }
  return count;
}

/**
 * The best `limit` entries by (score desc, global order asc), as a bounded heap whose root is the
 * worst kept entry. `ref` is carried along for the caller (an index into its own arrays).
 */
export class TopK {
  readonly slots: Int32Array;
  readonly scores: Float64Array;
  readonly ranks: Int32Array;
  readonly refs: Int32Array;
  size = 0;

  constructor(readonly limit: number) {
    this.slots = new Int32Array(limit);
    this.scores = new Float64Array(limit);
    this.ranks = new Int32Array(limit);
    this.refs = new Int32Array(limit);
  }

  /** True when entry a ranks below entry b. */
  private worse(a: number, b: number): boolean {
    return this.scores[a] < this.scores[b] || (this.scores[a] === this.scores[b] && this.ranks[a] > this.ranks[b]);
  }

  /** Entries offered so far (kept or not). */
  offered = 0;

  /** Small enough to be inlined into the scan loops: most rows are rejected right here. */
  offer(slot: number, score: number, rank: number, ref: number): void {
    this.offered++;
    if (this.size === this.limit && (score < this.scores[0] || (score === this.scores[0] && rank > this.ranks[0]))) return;
    this.insert(slot, score, rank, ref);
  }

  private insert(slot: number, score: number, rank: number, ref: number): void {
    if (this.size < this.limit) {
      let i = this.size++;
      this.put(i, slot, score, rank, ref);
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (!this.worse(i, parent)) break;
        this.swap(i, parent);
        i = parent;
      }
      return;
    }
    // Full (and the newcomer is better than the worst kept, the root): replace the root.
    this.put(0, slot, score, rank, ref);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let w = i;
      if (l < this.size && this.worse(l, w)) w = l;
      if (r < this.size && this.worse(r, w)) w = r;
      if (w === i) break;
      this.swap(i, w);
      i = w;
    }
  }

  /** Kept entries, best first. */
  sorted(): Array<{ slot: number; score: number; ref: number }> {
    const idx = Array.from({ length: this.size }, (_, i) => i);
    idx.sort((a, b) => this.scores[b] - this.scores[a] || this.ranks[a] - this.ranks[b]);
    return idx.map((i) => ({ slot: this.slots[i], score: this.scores[i], ref: this.refs[i] }));
  }

  private put(i: number, slot: number, score: number, rank: number, ref: number): void {
    this.slots[i] = slot;
    this.scores[i] = score;
    this.ranks[i] = rank;
    this.refs[i] = ref;
  }

  private swap(a: number, b: number): void {
    const s = this.slots[a];
    const sc = this.scores[a];
    const r = this.ranks[a];
    const f = this.refs[a];
    this.put(a, this.slots[b], this.scores[b], this.ranks[b], this.refs[b]);
    this.put(b, s, sc, r, f);
  }
}
