/**
 * The search engine's in-memory table: the searchable facts of every indexed asset in typed-array
 * columns addressed by slot, the word indexes over file names and folders, and the global
 * "newest first, then path" order used for filter-only results and for ties.
 * Slots are reused after removal; asset ids are the stable identity.
 */
import { pathWords } from './filename-match';
import { mergeInto } from './sorted';
import { fileStem, TextIndex } from './text-index';
import type { SearchableAsset, Shape } from './types';

export const SHAPE_UNKNOWN = 0;
export const SHAPE_LANDSCAPE = 1;
export const SHAPE_PORTRAIT = 2;
export const SHAPE_SQUARE = 3;
export const SHAPE_CODES: Record<Shape, number> = { landscape: SHAPE_LANDSCAPE, portrait: SHAPE_PORTRAIT, square: SHAPE_SQUARE };
export const SHAPE_NAMES = ['unknown', 'landscape', 'portrait', 'square'] as const;

/** Width/height within 1% of each other count as square. */
export function shapeOf(width: number | null, height: number | null): number {
  if (!width || !height || width <= 0 || height <= 0) return SHAPE_UNKNOWN;
  const r = width / height;
  if (Math.abs(r - 1) <= 0.01) return SHAPE_SQUARE;
  return r > 1 ? SHAPE_LANDSCAPE : SHAPE_PORTRAIT;
}

/** "2019-05-01T10:30:15" -> 20190501103015 (numeric, order-preserving); -1 when absent or unreadable. */
export function dateKey(iso: string | null | undefined): number {
  if (!iso) return -1;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(iso);
  if (!m) return -1;
  return Number(`${m[1]}${m[2]}${m[3]}${m[4] ?? '00'}${m[5] ?? '00'}${m[6] ?? '00'}`);
}

/** Where an asset sits in the global order: newest capture first (undated last), then path, then id. */
export interface OrderKey {
  takenKey: number;
  relPath: string;
  id: number;
}

export interface FolderEntry {
  /** As in the catalog, '' for the root. */
  path: string;
  lower: string;
  /** Live slots in this folder. */
  rows: number[];
}

export interface CameraEntry {
  /** "Canon EOS 5D" (for reasons). */
  label: string;
  /** "canon eos 5d" (make + ' ' + model, lower-cased; what camera: matches). */
  lower: string;
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export class SearchTable {
  /** Slot -> asset id; -1 for a free slot. */
  ids = new Float64Array(0);
  /** Slot -> 1 when it holds an asset (a byte per row: scans read this, not `ids`). */
  live = new Uint8Array(0);
  relPaths: string[] = [];
  pathLower: string[] = [];
  takenAt: Array<string | null> = [];
  thumbs: Array<string | null> = [];
  /** See `dateKey`. */
  takenKey = new Float64Array(0);
  sizes = new Float64Array(0);
  /** -1 when unknown. */
  widths = new Int32Array(0);
  heights = new Int32Array(0);
  shapes = new Uint8Array(0);
  formatIds = new Int32Array(0);
  cameraIds = new Int32Array(0);
  folderIds = new Int32Array(0);

  /** Distinct values, by id. Entry 0 is "none". */
  readonly formats: Array<string | null> = [null];
  readonly cameras: CameraEntry[] = [{ label: '', lower: ' ' }];
  readonly folders: FolderEntry[] = [];

  /** File name index (doc = slot): words of the name without extension, raw lower-cased stem. */
  readonly names = new TextIndex();
  /** Folder index (doc = folder id): words of the folder path, raw lower-cased path. */
  readonly folderText = new TextIndex();

  /** Live slots in the global order (see `OrderKey`). */
  byDate: number[] = [];
  /** Slot -> position in `byDate`. */
  orderRank = new Int32Array(0);
  /** Bumped by every change; a reloaded table continues from the previous table's value. */
  generation: number;

  private capacity = 0;
  private used = 0;
  private readonly free: number[] = [];
  private readonly slotOfId = new Map<number, number>();
  private readonly formatIndex = new Map<string | null, number>([[null, 0]]);
  private readonly cameraIndex = new Map<string, number>([['\u0000\u0001\u0000', 0]]);
  private readonly folderIndex = new Map<string, number>();

  constructor(generation = 0) {
    this.generation = generation;
  }

  /** Number of assets. */
  get size(): number {
    return this.slotOfId.size;
  }

  /** Slots allocated so far (live or free): every slot is below this. */
  get slotCount(): number {
    return this.used;
  }

  slotOf(id: number): number {
    return this.slotOfId.get(id) ?? -1;
  }

  orderKey(slot: number): OrderKey {
    return { takenKey: this.takenKey[slot], relPath: this.relPaths[slot], id: this.ids[slot] };
  }

  /** Negative when slot `a` comes before slot `b` in the global order. */
  compareSlots(a: number, b: number): number {
    const ta = this.takenKey[a];
    const tb = this.takenKey[b];
    if (ta !== tb) return tb - ta;
    return cmpStr(this.pathLower[a], this.pathLower[b]) || cmpStr(this.relPaths[a], this.relPaths[b]) || this.ids[a] - this.ids[b];
  }

  private compareToKey(slot: number, key: OrderKey, keyLower: string): number {
    const ta = this.takenKey[slot];
    if (ta !== key.takenKey) return key.takenKey - ta;
    return cmpStr(this.pathLower[slot], keyLower) || cmpStr(this.relPaths[slot], key.relPath) || this.ids[slot] - key.id;
  }

  /** Position in `byDate` of the first asset strictly after `key` (the key's asset may be gone). */
  positionAfter(key: OrderKey): number {
    const lower = key.relPath.toLowerCase();
    let lo = 0;
    let hi = this.byDate.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compareToKey(this.byDate[mid], key, lower) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * Applies one batch: `upserts` add or replace assets (any with a status other than 'ok' is removed),
   * `removals` are ids to drop. Unknown ids in `removals` are ignored. Returns whether anything changed.
   */
  apply(upserts: readonly SearchableAsset[], removals: readonly number[]): boolean {
    const next = new Map<number, SearchableAsset | null>();
    for (const id of removals) next.set(id, null);
    for (const a of upserts) {
      if (!Number.isSafeInteger(a.id)) throw new Error(`search: asset id ${String(a.id)} is not an integer`);
      next.set(a.id, a.status === undefined || a.status === 'ok' ? a : null);
    }
    const leaving: number[] = [];
    const freed: number[] = [];
    const fills: Array<[number, SearchableAsset]> = [];
    for (const [id, a] of next) {
      const slot = this.slotOfId.get(id);
      if (a === null) {
        if (slot !== undefined) {
          leaving.push(slot);
          freed.push(slot);
        }
      } else if (slot === undefined) fills.push([-1, a]);
      else if (!this.unchanged(slot, a)) {
        leaving.push(slot);
        fills.push([slot, a]);
      }
    }
    if (leaving.length === 0 && fills.length === 0) return false;

    // Unindex what leaves or changes.
    this.names.remove(leaving);
    const byFolder = new Map<number, Set<number>>();
    for (const s of leaving) {
      const f = this.folderIds[s];
      let set = byFolder.get(f);
      if (!set) byFolder.set(f, (set = new Set()));
      set.add(s);
    }
    for (const [f, set] of byFolder) this.folders[f].rows = this.folders[f].rows.filter((s) => !set.has(s));
    for (const s of freed) {
      this.slotOfId.delete(this.ids[s]);
      this.ids[s] = -1;
      this.live[s] = 0;
      this.relPaths[s] = '';
      this.pathLower[s] = '';
      this.takenAt[s] = null;
      this.thumbs[s] = null;
      this.free.push(s);
    }

    // Write and index new contents.
    const entering: number[] = [];
    for (const [known, a] of fills) {
      const slot = known >= 0 ? known : this.allocate(a.id);
      this.write(slot, a);
      entering.push(slot);
    }
    // A big batch (the initial load) packs the posting lists.
    this.names.commit(entering.length >= 1000);
    this.folderText.commit(entering.length >= 1000);

    // Keep the global order.
    this.byDate = reorder(this.byDate, leaving, entering, (a, b) => this.compareSlots(a, b), this.orderRank);
    this.generation++;
    return true;
  }

  private unchanged(slot: number, a: SearchableAsset): boolean {
    const cam = this.cameras[this.cameraIds[slot]];
    return (
      this.relPaths[slot] === a.relPath &&
      this.sizes[slot] === a.size &&
      this.formats[this.formatIds[slot]] === (a.format ?? null) &&
      this.widths[slot] === (a.width ?? -1) &&
      this.heights[slot] === (a.height ?? -1) &&
      this.takenAt[slot] === (a.takenAt ?? null) &&
      this.thumbs[slot] === (a.thumb ?? null) &&
      cam === this.cameras[this.cameraId(a)]
    );
  }

  private allocate(id: number): number {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.used++;
      if (slot >= this.capacity) this.grow(Math.max(1024, this.capacity * 2));
    }
    this.slotOfId.set(id, slot);
    this.ids[slot] = id;
    this.live[slot] = 1;
    return slot;
  }

  private grow(capacity: number): void {
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(old: T, make: (n: number) => T, fill?: number): T => {
      const next = make(capacity);
      next.set(old);
      if (fill !== undefined) next.fill(fill, old.length);
      return next;
    };
    this.ids = grow(this.ids, (n) => new Float64Array(n), -1);
    this.live = grow(this.live, (n) => new Uint8Array(n));
    this.takenKey = grow(this.takenKey, (n) => new Float64Array(n));
    this.sizes = grow(this.sizes, (n) => new Float64Array(n));
    this.widths = grow(this.widths, (n) => new Int32Array(n));
    this.heights = grow(this.heights, (n) => new Int32Array(n));
    this.shapes = grow(this.shapes, (n) => new Uint8Array(n));
    this.formatIds = grow(this.formatIds, (n) => new Int32Array(n));
    this.cameraIds = grow(this.cameraIds, (n) => new Int32Array(n));
    this.folderIds = grow(this.folderIds, (n) => new Int32Array(n));
    this.orderRank = grow(this.orderRank, (n) => new Int32Array(n));
    this.capacity = capacity;
  }

  private cameraId(a: SearchableAsset): number {
    const make = a.cameraMake ?? null;
    const model = a.cameraModel ?? null;
    const key = `${make ?? '\u0000'}\u0001${model ?? '\u0000'}`;
    let id = this.cameraIndex.get(key);
    if (id === undefined) {
      id = this.cameras.length;
      this.cameras.push({ label: [make, model].filter(Boolean).join(' '), lower: `${make ?? ''} ${model ?? ''}`.toLowerCase() });
      this.cameraIndex.set(key, id);
    }
    return id;
  }

  private folderId(relPath: string): number {
    const slash = relPath.lastIndexOf('/');
    const path = slash < 0 ? '' : relPath.slice(0, slash);
    let id = this.folderIndex.get(path);
    if (id === undefined) {
      id = this.folders.length;
      this.folders.push({ path, lower: path.toLowerCase(), rows: [] });
      this.folderIndex.set(path, id);
      this.folderText.add(id, path.toLowerCase(), pathWords(path));
    }
    return id;
  }

  private write(slot: number, a: SearchableAsset): void {
    const lower = a.relPath.toLowerCase();
    this.relPaths[slot] = a.relPath;
    this.pathLower[slot] = lower === a.relPath ? a.relPath : lower;
    this.takenAt[slot] = a.takenAt ?? null;
    this.thumbs[slot] = a.thumb ?? null;
    this.takenKey[slot] = dateKey(a.takenAt);
    this.sizes[slot] = a.size;
    this.widths[slot] = a.width ?? -1;
    this.heights[slot] = a.height ?? -1;
    this.shapes[slot] = shapeOf(a.width, a.height);
    const format = a.format ?? null;
    let f = this.formatIndex.get(format);
    if (f === undefined) {
      f = this.formats.length;
      this.formats.push(format);
      this.formatIndex.set(format, f);
    }
    this.formatIds[slot] = f;
    this.cameraIds[slot] = this.cameraId(a);
    const folder = this.folderId(a.relPath);
    this.folderIds[slot] = folder;
    this.folders[folder].rows.push(slot);
    const stem = fileStem(a.relPath);
    const stemLower = stem.toLowerCase();
    // Share the lower-cased path's memory when lower-casing kept the length (it nearly always does).
    const start = a.relPath.lastIndexOf('/') + 1;
    const shared = lower.slice(start, start + stemLower.length);
    this.names.add(slot, shared === stemLower ? shared : stemLower, pathWords(stem));
  }
}

/**
 * The global order after a batch: without the slots that left or changed, with those that entered,
 * and `rank` (slot -> position) rewritten.
 */
function reorder(order: number[], leaving: readonly number[], entering: number[], cmp: (a: number, b: number) => number, rank: Int32Array): number[] {
  let next = order;
  if (leaving.length > 0) {
    // `rank` still holds the old positions: mark them instead of looking slots up in a set.
    const gone = new Uint8Array(order.length);
    for (const s of leaving) gone[rank[s]] = 1;
    next = order.filter((_, i) => gone[i] === 0);
  }
  if (entering.length > 0) next = mergeInto(next, entering, cmp);
  for (let i = 0; i < next.length; i++) rank[next[i]] = i;
  return next;
}
