/**
 * The search engine the server calls on every keystroke. It keeps the searchable facts of every
 * indexed asset in memory (see `SearchTable`), plans a query as ranked signals + filters, fuses the
 * signals with reciprocal rank fusion and pages with stable cursors.
 *
 * Paging: the first page of a ranked query keeps a frozen copy of its full ranking (ids and fused
 * scores; a few typed-array copies) and the cursor names it, so later pages continue exactly where
 * the last one ended even when assets are added, changed or removed in between: nothing is shown
 * twice or skipped; removed assets drop out; assets added meanwhile appear in a new search. Frozen
 * rankings are kept for a while (LRU, bounded in entries); once evicted, or for a new engine, the
 * cursor's key (score, capture time, path, id) continues the recomputed ranking, which is exact as long
 * as the ranking did not change. Filter-only results are ordered by a per-asset key (newest first,
 * then path), so their keyset cursor is always exact.
 */
import { randomBytes } from 'node:crypto';
import { join, sep } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { Mutex } from '../util/mutex';
import { decodeCursor, encodeCursor, queryFingerprint, type CursorState } from './cursor';
import { FilenameSignal } from './filename-signal';
import { CompiledFilter, filterReasons, providedLabel, requestedProvided, type ProvidedConstraint } from './filters';
import { accumulate, ownSlots, RRF_K, Scratch, TopK } from './fusion';
import { parseQuery, withFilters } from './query-parser';
import { SearchTable } from './table';
import type {
  FilterProvider,
  MatchKind,
  MatchReason,
  ProvidedFilter,
  RankedList,
  SearchableAsset,
  SearchHit,
  SearchRequest,
  SearchResult,
  SearchSignal,
  SignalContext,
} from './types';

export interface SearchEngineOptions {
  /** RRF constant (default 60). */
  rrfK?: number;
  /** Frozen rankings kept for paging (default 16; 0 disables them). */
  maxSnapshots?: number;
  /** Bound on all frozen rankings together, in entries (~20 bytes each; default 1,000,000). */
  maxSnapshotEntries?: number;
  /** A frozen ranking unused for this long is dropped (default 15 minutes). */
  snapshotTtlMs?: number;
}

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 1000;
const MAX_SIGNALS = 32;

interface Registered {
  signal: SearchSignal;
  weight: number;
}

interface Explainer {
  name: string;
  kind: MatchKind;
  explain: ((id: number) => MatchReason[]) | null;
}

/** A frozen ranking: every result of a search's first page, as (id, fused score, lists matched). */
interface Snapshot {
  fingerprint: string;
  ids: Float64Array;
  /** Where each id was (checked against the table's ids before use: slots are reused). */
  slots: Int32Array;
  scores: Float64Array;
  /** Null when a single list ranked the query (every entry matched it). */
  bits: Uint32Array | null;
  explainers: Explainer[];
  lastUsed: number;
}

type RankedLists = Array<{ reg: Registered; list: RankedList }>;

interface PageEntry {
  slot: number;
  score: number;
  bits: number;
}

interface Page {
  entries: PageEntry[];
  total: number;
  more: boolean;
  explainers: Explainer[];
  snapshot: string | null;
}

interface ResultMeta {
  fingerprint: string;
  snapshot: string | null;
  keys: Array<Omit<CursorState, 'fingerprint' | 'snapshot'>>;
}

const MISSING: Record<ProvidedFilter, string> = {
  text: 'OCR is not indexed yet',
  faces: 'faces are not indexed yet',
  person: 'people are not indexed yet',
  tag: 'tags are not indexed yet',
};

function isPromise<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof (v as Promise<T> | null)?.then === 'function';
}

export class SearchEngine {
  private table = new SearchTable();
  private readonly signals: Registered[] = [];
  private readonly providers = new Map<ProvidedFilter, FilterProvider>();
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly resultMeta = new WeakMap<SearchResult, ResultMeta>();
  private readonly updates = new Mutex();
  /** Changes made while a reload reads the catalog, replayed onto the new table. */
  private duringReload: Array<{ upserts: readonly SearchableAsset[]; removals: readonly number[] }> | null = null;
  private readonly instance = randomBytes(4).toString('hex');
  private snapshotCounter = 0;
  private readonly spare: ArrayBuffer[] = [];
  private readonly thumbsPrefix: string;
  private readonly k: number;
  private readonly maxSnapshots: number;
  private readonly maxSnapshotEntries: number;
  private readonly snapshotTtlMs: number;
  private readonly acc = new Scratch();
  private readonly seen = new Scratch();
  private candSlots = new Int32Array(0);
  private candScores = new Float64Array(0);
  private candBits = new Uint32Array(0);

  private constructor(
    readonly catalog: Catalog,
    options: SearchEngineOptions,
  ) {
    this.k = options.rrfK ?? RRF_K;
    this.maxSnapshots = options.maxSnapshots ?? 16;
    this.maxSnapshotEntries = options.maxSnapshotEntries ?? 1_000_000;
    this.snapshotTtlMs = options.snapshotTtlMs ?? 15 * 60_000;
    this.registerSignal(new FilenameSignal());
    // Thumbnail names are relative paths ("ab/abcdef….webp"): join once, concatenate per hit.
    this.thumbsPrefix = join(catalog.thumbsDir, '_').slice(0, -1);
  }

  /** Reads every indexed asset of the catalog into memory. */
  static async load(catalog: Catalog, options: SearchEngineOptions = {}): Promise<SearchEngine> {
    const engine = new SearchEngine(catalog, options);
    await engine.reload();
    return engine;
  }

  /** Number of searchable assets. */
  get size(): number {
    return this.table.size;
  }

  /** Changes with every applied update (and reload). */
  get generation(): number {
    return this.table.generation;
  }

  /** The in-memory rows (read-only; for signals and diagnostics). */
  get rows(): SearchTable {
    return this.table;
  }

  // ---- keeping up with the catalog ----

  /** Re-reads the whole catalog. Searches keep using the previous rows until the new ones are ready. */
  async reload(): Promise<void> {
    await this.updates.run(async () => {
      this.duringReload = [];
      try {
        const rows = await this.catalog.loadSearchRows();
        const table = new SearchTable(this.table.generation + 1);
        table.apply(rows, []);
        for (const change of this.duringReload) table.apply(change.upserts, change.removals);
        this.table = table;
      } finally {
        this.duringReload = null;
      }
    });
  }

  /**
   * Re-reads the given assets from the catalog (after an index batch: `onAssetsChanged` upserted and
   * removed ids both fit): each one is added, updated, or dropped if it is no longer indexed.
   */
  async refresh(ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.updates.run(async () => {
      const rows = await this.catalog.loadSearchRows(ids);
      const found = new Set(rows.map((r) => r.id));
      this.change(rows, ids.filter((id) => !found.has(id)));
    });
  }

  /** Adds or replaces assets; any whose `status` is given and not 'ok' is removed instead. */
  upsert(assets: readonly SearchableAsset[]): void {
    this.change(assets, []);
  }

  remove(ids: readonly number[]): void {
    this.change([], ids);
  }

  private change(upserts: readonly SearchableAsset[], removals: readonly number[]): void {
    if (upserts.length === 0 && removals.length === 0) return;
    this.table.apply(upserts, removals);
    this.duringReload?.push({ upserts: [...upserts], removals: [...removals] });
  }

  // ---- plug-ins ----

  /** Adds a ranked signal. Its name must be unique; `weight` (default: the signal's, else 1) scales its RRF share. */
  registerSignal(signal: SearchSignal, options: { weight?: number } = {}): void {
    if (this.signals.some((r) => r.signal.name === signal.name)) throw new Error(`search signal "${signal.name}" is already registered`);
    if (this.signals.length >= MAX_SIGNALS) throw new Error(`at most ${MAX_SIGNALS} search signals`);
    const weight = options.weight ?? signal.weight ?? 1;
    if (!(weight > 0) || !Number.isFinite(weight)) throw new Error(`search signal "${signal.name}": weight must be a positive number`);
    this.signals.push({ signal, weight });
  }

  unregisterSignal(name: string): boolean {
    const i = this.signals.findIndex((r) => r.signal.name === name);
    if (i < 0) return false;
    this.signals.splice(i, 1);
    return true;
  }

  signalNames(): string[] {
    return this.signals.map((r) => r.signal.name);
  }

  /** Answers has:text, has:faces, person: or tag: (one provider per filter; a new one replaces the old). */
  registerFilterProvider(provider: FilterProvider): void {
    this.providers.set(provider.filter, provider);
  }

  unregisterFilterProvider(filter: ProvidedFilter): boolean {
    return this.providers.delete(filter);
  }

  // ---- searching ----

  /**
   * Runs a query. Throws SearchCursorError for a cursor that is malformed or belongs to another query.
   */
  async search(request: SearchRequest | string): Promise<SearchResult> {
    const req: SearchRequest = typeof request === 'string' ? { query: request } : request;
    const query = typeof req.query === 'string' ? req.query : '';
    const limit = Math.max(1, Math.min(Math.floor(Number(req.limit ?? DEFAULT_LIMIT)) || DEFAULT_LIMIT, MAX_LIMIT));
    const parsed = withFilters(parseQuery(query), req.filters);
    const fingerprint = queryFingerprint(parsed);
    const cursor = req.cursor ? decodeCursor(req.cursor, fingerprint) : null;
    const warnings = [...parsed.errors];
    const requested = requestedProvided(parsed);
    const usable = requested.filter((r) => {
      const provider = this.providers.get(r.filter);
      if (provider) {
        const problem = provider.check?.(r.value) ?? null;
        if (problem) warnings.push(`${providedLabel(r.filter, r.value, r.include)}: ${problem}`);
        return true;
      }
      warnings.push(`${providedLabel(r.filter, r.value, r.include)} was ignored: ${MISSING[r.filter]}`);
      return false;
    });

    const snapshot = cursor?.snapshot ? this.takeSnapshot(cursor.snapshot, fingerprint) : null;
    let page: Page;
    if (snapshot && cursor) {
      page = this.pageFromSnapshot(snapshot, cursor, limit);
    } else {
      const ctx = this.context();
      const constraints = usable.length > 0 ? await this.resolveProvided(usable, ctx) : [];
      // Synchronous signals (the built-in one's lists hold table slots) rank after the last await.
      const signals = [...this.signals];
      const raw = signals.map((reg) => reg.signal.rank(parsed, ctx));
      let settled = raw as Array<RankedList | null>;
      if (raw.some(isPromise)) {
        // Searches run side by side while slow signals wait (a tag catch-up, a text encoding), and
        // the synchronous signals reuse their buffers: rank those again once nothing is awaited.
        settled = await Promise.all(raw);
        raw.forEach((r, i) => {
          if (!isPromise(r)) settled[i] = signals[i].signal.rank(parsed, ctx) as RankedList | null;
        });
      }
      const lists: RankedLists = [];
      settled.forEach((list, i) => {
        if (list) lists.push({ reg: signals[i], list });
        const notice = signals[i].signal.notice?.(parsed);
        if (notice && !warnings.includes(notice)) warnings.push(notice);
      });
      // From here on everything is synchronous: the table cannot change under the loops.
      const filter = new CompiledFilter(this.table, parsed, constraints);
      page = lists.length === 0 ? this.filterOnlyPage(filter, cursor, limit) : this.rankedPage(lists, filter, cursor, limit, fingerprint);
    }

    const table = this.table;
    const items: SearchHit[] = [];
    const meta: ResultMeta = { fingerprint, snapshot: page.snapshot, keys: [] };
    for (const e of page.entries) {
      const id = table.ids[e.slot];
      const reasons: MatchReason[] = [];
      page.explainers.forEach((x, i) => {
        if ((e.bits & (1 << i)) === 0) return;
        reasons.push(...(x.explain ? x.explain(id) : [{ kind: x.kind, text: x.name }]));
      });
      reasons.push(...filterReasons(table, e.slot, parsed, usable));
      const thumb = table.thumbs[e.slot];
      items.push({
        id,
        relPath: table.relPaths[e.slot],
        score: Math.round(e.score * 1000) / 1000,
        reasons,
        thumbnail: thumb ? this.thumbsPrefix + (sep === '/' ? thumb : thumb.replace(/\//g, sep)) : null,
        width: table.widths[e.slot] < 0 ? null : table.widths[e.slot],
        height: table.heights[e.slot] < 0 ? null : table.heights[e.slot],
        format: table.formats[table.formatIds[e.slot]],
        takenAt: table.takenAt[e.slot],
      });
      meta.keys.push({ score: e.score, takenKey: table.takenKey[e.slot], relPath: table.relPaths[e.slot], id });
    }
    const last = meta.keys[meta.keys.length - 1];
    const result: SearchResult = {
      query,
      items,
      total: page.total,
      nextCursor: page.more && last ? encodeCursor({ fingerprint, snapshot: page.snapshot, ...last }) : null,
      warnings,
    };
    this.resultMeta.set(result, meta);
    return result;
  }

  /**
   * A cursor that continues `result` (returned by this engine) right after `result.items[index]`, for
   * callers that merge several engines' results and take only part of a page.
   */
  cursorAfter(result: SearchResult, index: number): string {
    const meta = this.resultMeta.get(result);
    const key = meta?.keys[index];
    if (!meta || !key) throw new RangeError('cursorAfter: not a result of this engine, or no item at that index');
    return encodeCursor({ fingerprint: meta.fingerprint, snapshot: meta.snapshot, ...key });
  }

  /** The context handed to signals and providers; `table` always reads the engine's current rows. */
  private context(): SignalContext {
    const engine = this;
    return {
      get table() {
        return engine.table;
      },
      catalog: this.catalog,
    };
  }

  private async resolveProvided(
    usable: Array<{ filter: ProvidedFilter; value: string | null; include: boolean }>,
    ctx: SignalContext,
  ): Promise<ProvidedConstraint[]> {
    const out: ProvidedConstraint[] = [];
    for (const r of usable) {
      const matched = await this.providers.get(r.filter)!.match(r.value, ctx);
      out.push({ ...r, ids: matched instanceof Set ? (matched as Set<number>) : new Set(matched) });
    }
    return out;
  }

  /** No ranked signal: every asset passing the filters, newest first, then by path. */
  private filterOnlyPage(filter: CompiledFilter, cursor: CursorState | null, limit: number): Page {
    const table = this.table;
    const start = cursor ? table.positionAfter(cursor) : 0;
    const top = new TopK(limit);
    const total = scanAll(table.live, table.orderRank, table.slotCount, filter.active ? filter : null, start, top);
    const entries = top.sorted().map((e) => ({ slot: e.slot, score: 1, bits: 0 }));
    return { entries, total, more: top.offered > limit, explainers: [], snapshot: null };
  }

  private rankedPage(
    lists: RankedLists,
    filter: CompiledFilter,
    cursor: CursorState | null,
    limit: number,
    fingerprint: string,
  ): Page {
    const table = this.table;
    // Signals that found nothing do not lower everyone's score (a semantic-only match can reach 1).
    let best = 0;
    for (const { reg, list } of lists) if (list.scores.length > 0) best += reg.weight / (this.k + 1);
    if (best === 0) best = 1;
    const single = lists.length === 1 ? ownSlots(lists[0].list, table) : null;
    let count: number;
    if (single !== null) count = single.length;
    else {
      const acc = this.acc;
      acc.ensure(table.slotCount);
      this.seen.ensure(table.slotCount);
      acc.next();
      count = 0;
      lists.forEach(({ reg, list }, i) => {
        count = accumulate(list, reg.weight, 1 << i, this.k, table, acc, this.seen, count);
      });
    }
    if (this.candSlots.length < count) {
      const size = Math.max(count, this.candSlots.length * 2);
      this.candSlots = new Int32Array(size);
      this.candScores = new Float64Array(size);
      this.candBits = new Uint32Array(size);
    }
    const cs = this.candSlots;
    const cScores = this.candScores;
    const cBits = this.candBits;
    const out = { slots: cs, scores: cScores, bits: cBits };
    const top = new TopK(limit);
    const boundary = cursor ? table.positionAfter(cursor) : 0;
    const activeFilter = filter.active ? filter : null;
    const n =
      single !== null
        ? collectSingle(single, lists[0].list.scores, lists[0].reg.weight, this.k, best, activeFilter, cursor, boundary, table.orderRank, out, top)
        : collect(this.acc, count, best, activeFilter, cursor, boundary, table.orderRank, out, top);
    // `explain` is kept without its list (it must not rely on `this`), so a frozen ranking does not pin the list.
    const explainers: Explainer[] = lists.map(({ reg, list }) => ({ name: reg.signal.name, kind: reg.signal.kind, explain: list.explain ?? null }));
    const more = top.offered > limit;
    let snapshot: string | null = null;
    if (more && this.maxSnapshots > 0 && n <= this.maxSnapshotEntries) {
      const ids = new Float64Array(this.buffer(n * 8), 0, n);
      idsOf(table.ids, cs, n, ids);
      const slots = new Int32Array(this.buffer(n * 4), 0, n);
      slots.set(cs.subarray(0, n));
      const scores = new Float64Array(this.buffer(n * 8), 0, n);
      scores.set(cScores.subarray(0, n));
      let bits: Uint32Array | null = null;
      if (lists.length > 1) {
        bits = new Uint32Array(this.buffer(n * 4), 0, n);
        bits.set(cBits.subarray(0, n));
      }
      snapshot = this.storeSnapshot({
        fingerprint,
        ids,
        slots,
        scores,
        bits,
        explainers,
        lastUsed: Date.now(),
      });
    }
    const entries = top.sorted().map((e) => ({ slot: e.slot, score: e.score, bits: cBits[e.ref] }));
    return { entries, total: n, more, explainers, snapshot };
  }

  private pageFromSnapshot(snap: Snapshot, cursor: CursorState, limit: number): Page {
    const table = this.table;
    const top = new TopK(limit);
    const total = resume(snap, table, cursor, top);
    const entries = top.sorted().map((e) => ({ slot: e.slot, score: e.score, bits: snap.bits ? snap.bits[e.ref] : 1 }));
    return { entries, total, more: top.offered > limit, explainers: snap.explainers, snapshot: cursor.snapshot };
  }

  private storeSnapshot(snap: Snapshot): string {
    const key = `${this.instance}.${(++this.snapshotCounter).toString(36)}`;
    this.snapshots.set(key, snap);
    this.evictSnapshots();
    return key;
  }

  private takeSnapshot(key: string, fingerprint: string): Snapshot | null {
    this.evictSnapshots();
    const snap = this.snapshots.get(key);
    if (!snap || snap.fingerprint !== fingerprint) return null;
    // Most recently used goes last (Map order is the LRU order).
    this.snapshots.delete(key);
    snap.lastUsed = Date.now();
    this.snapshots.set(key, snap);
    return snap;
  }

  private evictSnapshots(): void {
    const now = Date.now();
    let entries = 0;
    for (const s of this.snapshots.values()) entries += s.ids.length;
    for (const [key, s] of this.snapshots) {
      const tooMany = this.snapshots.size > this.maxSnapshots || entries > this.maxSnapshotEntries;
      if (!tooMany && now - s.lastUsed <= this.snapshotTtlMs) continue;
      this.snapshots.delete(key);
      entries -= s.ids.length;
      this.recycle(s.ids.buffer);
      this.recycle(s.slots.buffer);
      this.recycle(s.scores.buffer);
      if (s.bits) this.recycle(s.bits.buffer);
    }
  }

  /**
   * Memory for a frozen ranking, reusing evicted ones': typing produces a ranking per keystroke, and
   * fresh megabyte-sized buffers each time would make the garbage collector run far more often.
   */
  private buffer(bytes: number): ArrayBuffer {
    let best = -1;
    for (let i = 0; i < this.spare.length; i++) {
      const len = this.spare[i].byteLength;
      if (len >= bytes && len <= bytes * 4 + 65536 && (best < 0 || len < this.spare[best].byteLength)) best = i;
    }
    if (best >= 0) return this.spare.splice(best, 1)[0];
    return new ArrayBuffer(Math.max(1024, Math.ceil(bytes * 1.25)));
  }

  private recycle(buffer: ArrayBufferLike): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 4096) return;
    this.spare.push(buffer);
    if (this.spare.length > 8) this.spare.shift();
  }
}

// Hot loops live in small functions: V8 optimises them as a whole instead of on-stack mid-loop.

/**
 * Turns fused sums into 0..1 scores for the slots passing the filter, records them as candidates
 * and offers those after the cursor to the page heap.
 */
function collect(
  acc: Scratch,
  count: number,
  best: number,
  filter: CompiledFilter | null,
  cursor: CursorState | null,
  boundary: number,
  rank: Int32Array,
  out: { slots: Int32Array; scores: Float64Array; bits: Uint32Array },
  top: TopK,
): number {
  const touched = acc.list;
  const value = acc.value;
  const bits = acc.bits;
  const { slots, scores, bits: outBits } = out;
  const cursorScore = cursor ? cursor.score : Infinity;
  let n = 0;
  for (let i = 0; i < count; i++) {
    const slot = touched[i];
    if (filter !== null && !filter.test(slot)) continue;
    const score = value[slot] / best;
    slots[n] = slot;
    scores[n] = score;
    outBits[n] = bits[slot];
    if (score < cursorScore || (score === cursorScore && rank[slot] >= boundary)) {
      top.offer(slot, score, rank[slot], n);
    }
    n++;
  }
  return n;
}

/**
 * `collect` for the common case of one list from the engine's own table (file-name words only):
 * scores come straight from the list's ranks, without the fusion pass. Same arithmetic as
 * `accumulate` + `collect`, so scores (and cursors) are identical either way.
 */
function collectSingle(
  slots: Int32Array,
  raw: ArrayLike<number>,
  weight: number,
  k: number,
  best: number,
  filter: CompiledFilter | null,
  cursor: CursorState | null,
  boundary: number,
  rank: Int32Array,
  out: { slots: Int32Array; scores: Float64Array; bits: Uint32Array },
  top: TopK,
): number {
  const { slots: outSlots, scores: outScores, bits: outBits } = out;
  const cursorScore = cursor ? cursor.score : Infinity;
  let n = 0;
  let prev = Number.NaN;
  let score = 0;
  for (let j = 0; j < slots.length; j++) {
    const r = raw[j];
    if (r !== prev) {
      prev = r;
      score = (0 + weight / (k + j + 1)) / best;
    }
    const slot = slots[j];
    if (filter !== null && !filter.test(slot)) continue;
    outSlots[n] = slot;
    outScores[n] = score;
    outBits[n] = 1;
    if (score < cursorScore || (score === cursorScore && rank[slot] >= boundary)) {
      top.offer(slot, score, rank[slot], n);
    }
    n++;
  }
  return n;
}

/**
 * Every row passing `test`, offered to the page heap by its place in the global order when at or
 * after `start`. Slot order, not date order: the columns are read sequentially (much faster).
 */
function scanAll(live: Uint8Array, rank: Int32Array, end: number, filter: CompiledFilter | null, start: number, top: TopK): number {
  let total = 0;
  for (let slot = 0; slot < end; slot++) {
    if (live[slot] === 0 || (filter !== null && !filter.test(slot))) continue;
    total++;
    const r = rank[slot];
    if (r >= start) top.offer(slot, 1, r, 0);
  }
  return total;
}

function idsOf(tableIds: Float64Array, slots: Int32Array, n: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) out[i] = tableIds[slots[i]];
}

/** Offers a frozen ranking's entries after the cursor (skipping assets removed since) to the page heap. */
function resume(snap: Snapshot, table: SearchTable, cursor: CursorState, top: TopK): number {
  const rank = table.orderRank;
  const boundary = table.positionAfter(cursor);
  const { ids, slots, scores } = snap;
  const tableIds = table.ids;
  let total = 0;
  for (let i = 0; i < ids.length; i++) {
    let slot = slots[i];
    if (tableIds[slot] !== ids[i]) {
      slot = table.slotOf(ids[i]); // moved by a reload, or removed
      if (slot < 0) continue;
    }
    total++;
    const score = scores[i];
    if (score < cursor.score || (score === cursor.score && rank[slot] >= boundary)) {
      top.offer(slot, score, rank[slot], i);
    }
  }
  return total;
}
