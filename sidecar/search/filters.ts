/**
 * Filters are constraints, not ranked signals: a row passes or not. Conditions on distinct values
 * (folders, formats, cameras) are decided once per value, so the per-row test is a few typed-array reads.
 */
import type { ParsedQuery } from './query-parser';
import { dateKey, SHAPE_CODES, SHAPE_NAMES, type SearchTable } from './table';
import type { MatchKind, MatchReason, ProvidedFilter } from './types';

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

export function formatBytes(n: number): string {
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

export class CompiledFilter {
  /** False when the query has no constraint at all. */
  readonly active: boolean;
  private readonly folderOk: Uint8Array | null = null;
  private readonly formatOk: Uint8Array | null = null;
  private readonly cameraOk: Uint8Array | null = null;
  private readonly hasDate: boolean;
  private readonly takenFrom: number;
  private readonly takenTo: number;
  private readonly minSize: number;
  private readonly maxSize: number;
  private readonly hasDims: boolean;
  private readonly minWidth: number;
  private readonly maxWidth: number;
  private readonly minHeight: number;
  private readonly maxHeight: number;
  private readonly shapeMask: number;
  private readonly paths: string[];
  /** Per slot: 1 when in the provided set. */
  private readonly provided: Array<{ mask: Uint8Array; include: boolean }>;

  constructor(
    private readonly table: SearchTable,
    q: ParsedQuery,
    provided: readonly ProvidedConstraint[],
  ) {
    if (q.folders.length) {
      this.folderOk = new Uint8Array(table.folders.length);
      table.folders.forEach((f, i) => {
        this.folderOk![i] = q.folders.every((w) => folderMatches(f.lower, w)) ? 1 : 0;
      });
    }
    if (q.formats.length) {
      const wanted = new Set(q.formats);
      this.formatOk = new Uint8Array(table.formats.length);
      table.formats.forEach((f, i) => {
        this.formatOk![i] = f !== null && wanted.has(f) ? 1 : 0;
      });
    }
    if (q.cameras.length) {
      this.cameraOk = new Uint8Array(table.cameras.length);
      table.cameras.forEach((c, i) => {
        this.cameraOk![i] = i > 0 && q.cameras.every((w) => c.lower.includes(w)) ? 1 : 0;
      });
    }
    this.hasDate = q.takenFrom !== null || q.takenTo !== null;
    this.takenFrom = q.takenFrom ? dateKey(q.takenFrom) : 0;
    this.takenTo = q.takenTo ? dateKey(q.takenTo) : Number.MAX_VALUE;
    this.minSize = q.minSize ?? -Infinity;
    this.maxSize = q.maxSize ?? Infinity;
    this.hasDims = q.minWidth !== null || q.maxWidth !== null || q.minHeight !== null || q.maxHeight !== null;
    this.minWidth = q.minWidth ?? -Infinity;
    this.maxWidth = q.maxWidth ?? Infinity;
    this.minHeight = q.minHeight ?? -Infinity;
    this.maxHeight = q.maxHeight ?? Infinity;
    this.shapeMask = q.shapes.reduce((m, s) => m | (1 << SHAPE_CODES[s]), 0);
    this.paths = q.paths;
    this.provided = provided.map((p) => {
      const mask = new Uint8Array(table.slotCount);
      for (const id of p.ids) {
        const slot = table.slotOf(id);
        if (slot >= 0) mask[slot] = 1;
      }
      return { mask, include: p.include };
    });
    this.active =
      this.folderOk !== null ||
      this.formatOk !== null ||
      this.cameraOk !== null ||
      this.hasDate ||
      q.minSize !== null ||
      q.maxSize !== null ||
      this.hasDims ||
      this.shapeMask !== 0 ||
      this.paths.length > 0 ||
      this.provided.length > 0;
  }

  test(slot: number): boolean {
    const t = this.table;
    if (this.folderOk !== null && this.folderOk[t.folderIds[slot]] === 0) return false;
    if (this.formatOk !== null && this.formatOk[t.formatIds[slot]] === 0) return false;
    if (this.cameraOk !== null && this.cameraOk[t.cameraIds[slot]] === 0) return false;
    if (this.hasDate) {
      const k = t.takenKey[slot];
      if (k < 0 || k < this.takenFrom || k > this.takenTo) return false;
    }
    const size = t.sizes[slot];
    if (size < this.minSize || size > this.maxSize) return false;
    if (this.hasDims) {
      const w = t.widths[slot];
      const h = t.heights[slot];
      if (w < 0 || h < 0 || w < this.minWidth || w > this.maxWidth || h < this.minHeight || h > this.maxHeight) return false;
    }
    if (this.shapeMask !== 0 && (this.shapeMask & (1 << t.shapes[slot])) === 0) return false;
    for (let i = 0; i < this.provided.length; i++) {
      const p = this.provided[i];
      if ((p.mask[slot] === 1) !== p.include) return false;
    }
    for (let i = 0; i < this.paths.length; i++) if (!t.pathLower[slot].includes(this.paths[i])) return false;
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
  if (q.shapes.length) reasons.push({ kind: 'orientation', text: SHAPE_NAMES[table.shapes[slot]] });
  for (const p of provided) reasons.push({ kind: PROVIDED_KIND[p.filter], text: providedLabel(p.filter, p.value, p.include) });
  return reasons;
}
