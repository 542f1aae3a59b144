/**
 * Filters are constraints, not ranked signals: a row passes or not. Conditions on distinct values
 * (folders, formats, cameras) are decided once per value, so the per-row test is a few typed-array reads.
 */
import type { ParsedQuery } from './query-parser';
import { dateKey, SHAPE_CODES, SHAPE_NAMES, type SearchTable } from './table';
import type { MatchKind, MatchReason, ProvidedFilter } from './types';
import { formatBytes } from '../util/format-bytes';

/** One provided filter (has:text, person:..., tag:...) as the engine resolved it. */
export interface ProvidedConstraint {
  filter: ProvidedFilter;
  value: string | null;
  /** True: the asset must be in `ids`; false: must not be. */
  include: boolean;
  ids: ReadonlySet<number>;
}

export const PROVIDED_KIND: Record<ProvidedFilter, MatchKind> = { text: 'text', faces: 'face', person: 'face', tag: 'tag' };

/** "has:text", "person:alice", ... as the user would type it. */
export function providedLabel(filter: ProvidedFilter, value: string | null, include = true): string {
  const base = filter === 'text' ? 'has:text' : filter === 'faces' ? 'has:faces' : `${filter}:${value ?? ''}`;
  return include ? base : `-${base}`;
}

/** The provided filters a query asks for. */
export function requestedProvided(q: ParsedQuery): Array<{ filter: ProvidedFilter; value: string | null; include: boolean }> {
  const out: Array<{ filter: ProvidedFilter; value: string | null; include: boolean }> = [];
  if (q.hasText !== null) out.push({ filter: 'text', value: null, include: q.hasText });
  if (q.hasFaces !== null) out.push({ filter: 'faces', value: null, include: q.hasFaces });
  for (const p of q.people) out.push({ filter: 'person', value: p, include: true });
  for (const t of q.tags) out.push({ filter: 'tag', value: t, include: true });
  return out;
}

function folderMatches(folderLower: string, wanted: string): boolean {
  if (folderLower === '') return false;
  // "trips/2019" matches that folder (and below) anywhere; a bare name matches any folder segment containing it.
  if (wanted.includes('/')) return `/${folderLower}/`.includes(`/${wanted}/`);
  return folderLower.split('/').some((segment) => segment.includes(wanted));
}


export class CompiledFilter {
  /** False when the query has no constraint at all. */
  readonly active: boolean;
  // Everything `test` reads is a field of this object (one hidden class for every query: the
  // method stays optimised; a closure per query would start unoptimised every time).
  private readonly folderOk: Uint8Array | null;
  private readonly formatOk: Uint8Array | null;
  private readonly cameraOk: Uint8Array | null;
  private readonly hasDate: boolean;
  private readonly takenFrom: number;
  private readonly takenTo: number;
  private readonly hasSize: boolean;
  private readonly minSize: number;
  private readonly maxSize: number;
  private readonly hasDims: boolean;
  private readonly minWidth: number;
  private readonly maxWidth: number;
  private readonly minHeight: number;
  private readonly maxHeight: number;
  private readonly hasPixels: boolean;
  private readonly minPixels: number;
  private readonly maxPixels: number;
  private readonly shapeMask: number;
  private readonly providedOk: Uint8Array | null;
  private readonly providedNeeded: number;
  private readonly paths: string[];
  private readonly folderIds: Int32Array;
  private readonly formatIds: Int32Array;
  private readonly cameraIds: Int32Array;
  private readonly takenKey: Float64Array;
  private readonly sizes: Float64Array;
  private readonly widths: Int32Array;
  private readonly heights: Int32Array;
  private readonly shapes: Uint8Array;
  private readonly pathLower: string[];

  constructor(table: SearchTable, q: ParsedQuery, provided: readonly ProvidedConstraint[]) {
    let folderOk: Uint8Array | null = null;
    let formatOk: Uint8Array | null = null;
    let cameraOk: Uint8Array | null = null;
    if (q.folders.length) {
      folderOk = new Uint8Array(table.folders.length);
      for (let i = 0; i < table.folders.length; i++) folderOk[i] = q.folders.every((w) => folderMatches(table.folders[i].lower, w)) ? 1 : 0;
    }
    if (q.formats.length) {
      const wanted = new Set(q.formats);
      formatOk = new Uint8Array(table.formats.length);
      table.formats.forEach((f, i) => {
        formatOk![i] = f !== null && wanted.has(f) ? 1 : 0;
      });
    }
    if (q.cameras.length) {
      cameraOk = new Uint8Array(table.cameras.length);
      table.cameras.forEach((c, i) => {
        cameraOk![i] = i > 0 && q.cameras.every((w) => c.lower.includes(w)) ? 1 : 0;
      });
    }
    const hasDate = q.takenFrom !== null || q.takenTo !== null;
    const takenFrom = q.takenFrom ? dateKey(q.takenFrom) : 0;
    const takenTo = q.takenTo ? dateKey(q.takenTo) : Number.MAX_VALUE;
    const minSize = q.minSize ?? -Infinity;
    const maxSize = q.maxSize ?? Infinity;
    const hasDims = q.minWidth !== null || q.maxWidth !== null || q.minHeight !== null || q.maxHeight !== null;
    const minWidth = q.minWidth ?? -Infinity;
    const maxWidth = q.maxWidth ?? Infinity;
    const minHeight = q.minHeight ?? -Infinity;
    const maxHeight = q.maxHeight ?? Infinity;
    const shapeMask = q.shapes.reduce((m, s) => m | (1 << SHAPE_CODES[s]), 0);
    const paths = q.paths;
    // Provided filters as one per-slot count of satisfied constraints.
    let providedOk: Uint8Array | null = null;
    if (provided.length) {
      providedOk = new Uint8Array(table.slotCount);
      const inside = new Uint8Array(table.slotCount);
      for (const p of provided) {
        inside.fill(0);
        for (const id of p.ids) {
          const slot = table.slotOf(id);
          if (slot >= 0) inside[slot] = 1;
        }
        for (let s = 0; s < inside.length; s++) if ((inside[s] === 1) === p.include) providedOk[s]++;
      }
    }
    const providedNeeded = provided.length;
    this.active =
      folderOk !== null ||
      formatOk !== null ||
      cameraOk !== null ||
      hasDate ||
      q.minSize !== null ||
      q.maxSize !== null ||
      hasDims ||
      q.minPixels !== null ||
      q.maxPixels !== null ||
      shapeMask !== 0 ||
      paths.length > 0 ||
      providedOk !== null;

    this.folderOk = folderOk;
    this.formatOk = formatOk;
    this.cameraOk = cameraOk;
    this.hasDate = hasDate;
    this.takenFrom = takenFrom;
    this.takenTo = takenTo;
    this.hasSize = q.minSize !== null || q.maxSize !== null;
    this.minSize = minSize;
    this.maxSize = maxSize;
    this.hasDims = hasDims;
    this.minWidth = minWidth;
    this.maxWidth = maxWidth;
    this.minHeight = minHeight;
    this.maxHeight = maxHeight;
    this.hasPixels = q.minPixels !== null || q.maxPixels !== null;
    this.minPixels = q.minPixels ?? -Infinity;
    this.maxPixels = q.maxPixels ?? Infinity;
    this.shapeMask = shapeMask;
    this.providedOk = providedOk;
    this.providedNeeded = providedNeeded;
    this.paths = paths;
    this.folderIds = table.folderIds;
    this.formatIds = table.formatIds;
    this.cameraIds = table.cameraIds;
    this.takenKey = table.takenKey;
    this.sizes = table.sizes;
    this.widths = table.widths;
    this.heights = table.heights;
    this.shapes = table.shapes;
    this.pathLower = table.pathLower;
  }

  /** Whether the row in `slot` passes every constraint. */
  test(slot: number): boolean {
    if (this.folderOk !== null && this.folderOk[this.folderIds[slot]] === 0) return false;
    if (this.formatOk !== null && this.formatOk[this.formatIds[slot]] === 0) return false;
    if (this.cameraOk !== null && this.cameraOk[this.cameraIds[slot]] === 0) return false;
    if (this.hasDate) {
      const k = this.takenKey[slot];
      if (k < 0 || k < this.takenFrom || k > this.takenTo) return false;
    }
    if (this.hasSize) {
      const size = this.sizes[slot];
      if (size < this.minSize || size > this.maxSize) return false;
    }
    if (this.hasDims) {
      const w = this.widths[slot];
      const h = this.heights[slot];
      if (w < 0 || h < 0 || w < this.minWidth || w > this.maxWidth || h < this.minHeight || h > this.maxHeight) return false;
    }
    if (this.hasPixels) {
      const w = this.widths[slot];
      const h = this.heights[slot];
      if (w < 0 || h < 0 || w * h < this.minPixels || w * h > this.maxPixels) return false;
    }
    if (this.shapeMask !== 0 && (this.shapeMask & (1 << this.shapes[slot])) === 0) return false;
    if (this.providedOk !== null && this.providedOk[slot] !== this.providedNeeded) return false;
    if (this.paths.length > 0) for (let i = 0; i < this.paths.length; i++) if (!this.pathLower[slot].includes(this.paths[i])) return false;
    return true;
  }
}

/** The chips for the filters a row passed (only called for the rows of a page). */
export function filterReasons(
  table: SearchTable,
  slot: number,
  q: ParsedQuery,
  provided: ReadonlyArray<{ filter: ProvidedFilter; value: string | null; include: boolean }>,
): MatchReason[] {
  const reasons: MatchReason[] = [];
  if (q.folders.length) reasons.push({ kind: 'folder', text: `in ${table.folders[table.folderIds[slot]].path}` });
  for (const p of q.paths) reasons.push({ kind: 'path', text: `path contains "${p}"` });
  if (q.takenFrom || q.takenTo) reasons.push({ kind: 'date', text: `taken ${table.takenAt[slot]?.replace('T', ' ')}` });
  if (q.cameras.length) reasons.push({ kind: 'camera', text: table.cameras[table.cameraIds[slot]].label });
  if (q.formats.length) reasons.push({ kind: 'format', text: table.formats[table.formatIds[slot]] ?? '' });
  if (q.minSize !== null || q.maxSize !== null) reasons.push({ kind: 'size', text: formatBytes(table.sizes[slot]) });
  if (q.minWidth !== null || q.maxWidth !== null || q.minHeight !== null || q.maxHeight !== null) {
    reasons.push({ kind: 'dimensions', text: `${table.widths[slot]}×${table.heights[slot]}` });
  }
  if (q.minPixels !== null || q.maxPixels !== null) {
    reasons.push({ kind: 'dimensions', text: `${((table.widths[slot] * table.heights[slot]) / 1e6).toFixed(1)} MP` });
  }
  if (q.shapes.length) reasons.push({ kind: 'orientation', text: SHAPE_NAMES[table.shapes[slot]] });
  for (const p of provided) reasons.push({ kind: PROVIDED_KIND[p.filter], text: providedLabel(p.filter, p.value, p.include) });
  return reasons;
}
