/**
 * The tag evidence of every asset of a root, in memory, in flat typed arrays, so a query word costs
 * one pass over compact columns instead of a catalog join (bench `tags`: search latency). Kept
 * current lazily: when the engine's table has changed since the last look, the assets (re)analysed
 * since then (by `assets.indexed_at`) are read again.
 */
import type { Catalog } from '../catalog/catalog';
import type { SignalContext } from '../search/types';
import { COLOUR_NAMES } from './colours';
import { everyAssetInSlices, readTagRows } from './tag-store';
import type { TagRows } from './image-tags';
import type { ConceptGroup, TagVocabulary } from './vocabulary';

/** Labels kept per asset (the analyzer stores at most 20). */
const LABELS = 20;
const COLOURS = COLOUR_NAMES.length;
const COLOUR_ID = new Map<string, number>(COLOUR_NAMES.map((c, i) => [c, i]));
/** How often an unchanged table still triggers a look at the catalog. */
const RECHECK_MS = 2000;
/**
 * Once loaded, how long a search waits for a catch-up with the catalog. While a big index run writes,
 * catalog reads queue behind its transactions for seconds; past this, the search answers from what is
 * loaded (a second or so stale) and the catch-up finishes for the next one.
 */
const CATCH_UP_WAIT_MS = 250;

/** The result of one scoring pass: per hit and group, the best score, its concept and object count. */
export class TagHits {
  private byId: Map<number, number> | null = null;
  constructor(
    readonly groups: number,
    readonly ids: Float64Array,
    readonly scores: Float32Array,
    readonly concepts: Int32Array,
    readonly counts: Int32Array,
  ) {}

  get size(): number {
    return this.ids.length;
  }

  /** Position of an asset among the hits, or -1 (the id map is built on first use: only for explain). */
  indexOf(id: number): number {
    if (!this.byId) {
      this.byId = new Map();
      for (let i = 0; i < this.ids.length; i++) this.byId.set(this.ids[i], i);
    }
    return this.byId.get(id) ?? -1;
  }
}

interface Matcher {
  concept: number;
  labelWeight: Float32Array;
  hasLabels: boolean;
  coco: Uint8Array;
  hasCoco: boolean;
  colour: number;
}

export class TagIndex {
  private capacity = 0;
  private used = 0;
  private ids = new Float64Array(0);
  private labelCount = new Uint8Array(0);
  private labelClasses = new Uint16Array(0);
  private labelScores = new Float32Array(0);
  private colourShares = new Float32Array(0);
  /** Objects are rare: per slot, or null. */
  private objects: Array<{ classes: Uint8Array; scores: Float32Array } | null> = [];
  private readonly slotOf = new Map<number, number>();
  private readonly free: number[] = [];
  private loaded = false;
  private generation = -1;
  /** `max(indexed_at)` at the last read (as DuckDB prints it). */
  private since: string | null = null;
  /** The catch-up under way, and the one that follows it (shared by every caller that came meanwhile). */
  private current: Promise<void> | null = null;
  private next: Promise<void> | null = null;
  private checkedAt = 0;
  /** Bumped whenever the index's contents change (caches of query results key on it). */
  version = 0;

  constructor(
    readonly catalog: Catalog,
    private readonly vocab: TagVocabulary,
  ) {}

  get size(): number {
    return this.slotOf.size;
  }

  /**
   * Brings the index up to date with the catalog if the engine's table changed since the last look.
   * The first load is awaited in full; later catch-ups at most CATCH_UP_WAIT_MS.
   */
  sync(ctx: SignalContext, waitMs = CATCH_UP_WAIT_MS): Promise<void> {
    const run = this.catchUpShared(ctx);
    if (!this.loaded) return run;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    return Promise.race([run, late]).finally(() => clearTimeout(timer));
  }

  /** One catch-up at a time; callers arriving during one share the next (it sees their changes). */
  private catchUpShared(ctx: SignalContext): Promise<void> {
    if (!this.current) {
      this.current = this.catchUp(ctx).finally(() => {
        this.current = null;
      });
      return this.current;
    }
    this.next ??= this.current
      .catch(() => undefined)
      .then(() => {
        this.next = null;
        return this.catchUpShared(ctx);
      });
    return this.next;
  }

  private async catchUp(ctx: SignalContext): Promise<void> {
    const generation = ctx.table.generation;
    // A re-analysis that leaves an asset's searchable facts alone (an analyzer upgrade) does not
    // change the table: look at the catalog anyway once in a while.
    const due = Date.now() - this.checkedAt > RECHECK_MS;
    if (this.loaded && generation === this.generation && !due) return;
    this.checkedAt = Date.now();
    const mark = await this.catalog.read(`SELECT CAST(max(indexed_at) AS VARCHAR) AS t FROM assets`);
    const now = (mark[0]?.t as string | null) ?? null;
    if (this.loaded && now === this.since) {
      this.generation = generation;
      return;
    }
    if (!this.loaded) {
      await this.loadAll();
      this.loaded = true;
    } else if (now !== null) {
      // Timestamps repeat at their precision: re-read the boundary instant too.
      const changed = await this.catalog.read(
        this.since === null ? `SELECT id FROM assets WHERE indexed_at IS NOT NULL` : `SELECT id FROM assets WHERE indexed_at >= CAST($1 AS TIMESTAMP)`,
        this.since === null ? [] : [this.since],
      );
      const ids = changed.map((r) => Number(r.id));
      const fresh = await readTagRows(this.catalog, ids);
      for (const id of ids) {
        const rows = fresh.get(id);
        if (rows) this.put(id, rows);
        else this.remove(id);
      }
    }
    this.since = now;
    this.generation = generation;
    this.version++;
  }

  /**
   * The first load, straight into the columns: one JSON string per table, grouped by asset (a
   * row object per label would cost seconds at 100,000 images).
   */
  private async loadAll(): Promise<void> {
    for (const where of await everyAssetInSlices(this.catalog)) await this.loadSlice(where);
  }

  private async loadSlice(where: string): Promise<void> {
    const json = async <T>(sql: string): Promise<T[]> => {
      const r = await this.catalog.read(`SELECT CAST(to_json(list(x)) AS VARCHAR) AS j FROM (${sql})`);
      return typeof r[0]?.j === 'string' ? (JSON.parse(r[0].j) as T[]) : [];
    };
    const labels = await json<{ i: number; c: number[]; s: number[] }>(
      // Unordered lists: ordering inside DuckDB's list() costs more than the whole rest of the load.
      `SELECT {'i': asset_id, 'c': list(class_index), 's': list(score)} AS x FROM image_labels ${where} GROUP BY asset_id`,
    );
    for (const { i: id, c: rawClasses, s: rawScores } of labels) {
      let classes = rawClasses;
      let scores = rawScores;
      if (classes.length > LABELS) {
        // More than the analyzer stores today: keep the best.
        const order = classes.map((_, i) => i).sort((a, b) => rawScores[b] - rawScores[a]).slice(0, LABELS);
        classes = order.map((i) => rawClasses[i]);
        scores = order.map((i) => rawScores[i]);
      }
      const slot = this.slotFor(id);
      const k = Math.min(LABELS, classes.length);
      this.labelCount[slot] = k;
      for (let i = 0; i < k; i++) {
        this.labelClasses[slot * LABELS + i] = classes[i];
        this.labelScores[slot * LABELS + i] = scores[i];
      }
    }
    const objects = await json<{ i: number; c: number[]; s: number[] }>(
      `SELECT {'i': asset_id, 'c': list(class_index), 's': list(score)} AS x FROM image_objects ${where} GROUP BY asset_id`,
    );
    for (const { i: id, c, s } of objects) this.objects[this.slotFor(id)] = { classes: Uint8Array.from(c), scores: Float32Array.from(s) };
    const colours = await json<{ i: number; c: string[]; s: number[] }>(
      `SELECT {'i': asset_id, 'c': list(colour), 's': list(share)} AS x FROM image_colours ${where} GROUP BY asset_id`,
    );
    for (const { i: id, c, s } of colours) {
      const slot = this.slotFor(id);
      c.forEach((colour, j) => {
        const k = COLOUR_ID.get(colour);
        if (k !== undefined) this.colourShares[slot * COLOURS + k] = s[j];
      });
    }
  }

  /** The slot of an asset, allocated (empty) if new. */
  private slotFor(id: number): number {
    let slot = this.slotOf.get(id);
    if (slot === undefined) {
      slot = this.free.pop() ?? this.used++;
      if (slot >= this.capacity) this.grow();
      this.slotOf.set(id, slot);
      this.ids[slot] = id;
      this.labelCount[slot] = 0;
      this.colourShares.fill(0, slot * COLOURS, slot * COLOURS + COLOURS);
      this.objects[slot] = null;
    }
    return slot;
  }

  private grow(): void {
    const cap = Math.max(1024, this.capacity * 2);
    const grow = <T extends Float64Array | Uint8Array | Uint16Array | Float32Array>(old: T, make: (n: number) => T, per: number): T => {
      const next = make(cap * per);
      next.set(old);
      return next;
    };
    this.ids = grow(this.ids, (n) => new Float64Array(n).fill(-1), 1);
    this.labelCount = grow(this.labelCount, (n) => new Uint8Array(n), 1);
    this.labelClasses = grow(this.labelClasses, (n) => new Uint16Array(n), LABELS);
    this.labelScores = grow(this.labelScores, (n) => new Float32Array(n), LABELS);
    this.colourShares = grow(this.colourShares, (n) => new Float32Array(n), COLOURS);
    this.capacity = cap;
  }

  private put(id: number, rows: TagRows): void {
    const slot = this.slotFor(id);
    const labels = [...rows.labels].sort((a, b) => b.score - a.score).slice(0, LABELS);
    this.labelCount[slot] = labels.length;
    labels.forEach((l, i) => {
      this.labelClasses[slot * LABELS + i] = l.classIndex;
      this.labelScores[slot * LABELS + i] = l.score;
    });
    this.colourShares.fill(0, slot * COLOURS, slot * COLOURS + COLOURS);
    for (const c of rows.colours) {
      const k = COLOUR_ID.get(c.colour);
      if (k !== undefined) this.colourShares[slot * COLOURS + k] = c.share;
    }
    this.objects[slot] = rows.objects.length
      ? { classes: Uint8Array.from(rows.objects, (o) => o.classIndex), scores: Float32Array.from(rows.objects, (o) => o.score) }
      : null;
  }

  private remove(id: number): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return;
    this.slotOf.delete(id);
    this.ids[slot] = -1;
    this.labelCount[slot] = 0;
    this.objects[slot] = null;
    this.free.push(slot);
  }

  private matcher(concept: number): Matcher {
    const leaves = this.vocab.leavesOf(concept);
    const labelWeight = new Float32Array(1000);
    for (const [cls, factor] of leaves.related) labelWeight[cls] = Math.max(labelWeight[cls], factor);
    for (const cls of leaves.imagenet) labelWeight[cls] = 1;
    const coco = new Uint8Array(256);
    for (const cls of leaves.coco) coco[cls] = 1;
    return {
      concept,
      labelWeight,
      hasLabels: leaves.imagenet.length + leaves.related.length > 0,
      coco,
      hasCoco: leaves.coco.length > 0,
      colour: leaves.colours.length ? (COLOUR_ID.get(leaves.colours[0]) ?? -1) : -1,
    };
  }

  /**
   * Per asset, the best score of each group's concepts (labels summed over the classes beneath a
   * concept, or their max with `aggregate: 'max'`; objects their best box and count; colours their
   * share), for assets where some group reaches `minScore`. Ids of assets the engine no longer has
   * may appear: the engine ignores them.
   */
  score(groups: readonly ConceptGroup[], minScore: number, aggregate: 'sum' | 'max' = 'sum'): TagHits {
    const n = groups.length;
    const matchers = groups.map((g) => g.concepts.map((c) => this.matcher(c.index)));
    const useMax = aggregate === 'max';
    let ids = new Float64Array(256);
    let scores = new Float32Array(256 * n);
    let concepts = new Int32Array(256 * n);
    let counts = new Int32Array(256 * n);
    let hits = 0;
    const best = new Float32Array(n);
    const bestConcept = new Int32Array(n);
    const bestCount = new Int32Array(n);
    const { labelCount, labelClasses, labelScores, colourShares, objects } = this;
    for (let slot = 0; slot < this.used; slot++) {
      const id = this.ids[slot];
      if (id < 0) continue;
      let any = false;
      for (let g = 0; g < n; g++) {
        best[g] = 0;
        bestConcept[g] = -1;
        bestCount[g] = 0;
        const ms = matchers[g];
        for (let j = 0; j < ms.length; j++) {
          const m = ms[j];
          let s = 0;
          let k = 0;
          if (m.hasLabels) {
            const base = slot * LABELS;
            const end = base + labelCount[slot];
            for (let i = base; i < end; i++) {
              const w = m.labelWeight[labelClasses[i]];
              if (w === 0) continue;
              const v = labelScores[i] * w;
              if (useMax) {
                if (v > s) s = v;
              } else s += v;
            }
            if (s > 1) s = 1;
          }
          if (m.hasCoco) {
            const o = objects[slot];
            if (o !== null) {
              let top = 0;
              let count = 0;
              for (let i = 0; i < o.classes.length; i++) {
                if (m.coco[o.classes[i]] === 0) continue;
                count++;
                if (o.scores[i] > top) top = o.scores[i];
              }
              if (top > 0 && top >= s) {
                s = top;
                k = count;
              }
            }
          }
          if (m.colour >= 0) {
            const share = colourShares[slot * COLOURS + m.colour];
            if (share > s) s = share;
          }
          if (s >= minScore && s > best[g]) {
            best[g] = s;
            bestConcept[g] = m.concept;
            bestCount[g] = k;
          }
        }
        if (best[g] > 0) any = true;
      }
      if (!any) continue;
      if (hits === ids.length) {
        const grow = <T extends Float64Array | Float32Array | Int32Array>(a: T, make: (len: number) => T): T => {
          const b = make(a.length * 2);
          b.set(a);
          return b;
        };
        ids = grow(ids, (len) => new Float64Array(len));
        scores = grow(scores, (len) => new Float32Array(len));
        concepts = grow(concepts, (len) => new Int32Array(len));
        counts = grow(counts, (len) => new Int32Array(len));
      }
      ids[hits] = id;
      for (let g = 0; g < n; g++) {
        scores[hits * n + g] = best[g];
        concepts[hits * n + g] = bestConcept[g];
        counts[hits * n + g] = bestCount[g];
      }
      hits++;
    }
    return new TagHits(n, ids.slice(0, hits), scores.slice(0, hits * n), concepts.slice(0, hits * n), counts.slice(0, hits * n));
  }
}
