import type { SearchFilters, Shape } from './types';

/** A search box query split into free words and typed filters. */
export interface ParsedQuery {
  /** Free words, lower-cased; quoted phrases stay one term. */
  terms: string[];
  folders: string[];
  paths: string[];
  formats: string[];
  cameras: string[];
  /** Inclusive ISO bounds on the EXIF capture time (local time, as cameras record it). */
  takenFrom: string | null;
  takenTo: string | null;
  /** Inclusive bounds in bytes. */
  minSize: number | null;
  maxSize: number | null;
  /** Inclusive bounds in pixels (after EXIF rotation). */
  minWidth: number | null;
  maxWidth: number | null;
  minHeight: number | null;
  maxHeight: number | null;
  /** Inclusive bounds on width x height (after EXIF rotation): `pixels:>4mp` finds images too big to publish as they are. */
  minPixels: number | null;
  maxPixels: number | null;
  /** Any of these shapes (`is:portrait`). */
  shapes: Shape[];
  /** `has:text` (true) or the structured `hasText: false`; null: no constraint. */
  hasText: boolean | null;
  hasFaces: boolean | null;
  people: string[];
  tags: string[];
  errors: string[];
}

export function emptyQuery(): ParsedQuery {
  return {
    terms: [],
    folders: [],
    paths: [],
    formats: [],
    cameras: [],
    takenFrom: null,
    takenTo: null,
    minSize: null,
    maxSize: null,
    minWidth: null,
    maxWidth: null,
    minHeight: null,
    maxHeight: null,
    minPixels: null,
    maxPixels: null,
    shapes: [],
    hasText: null,
    hasFaces: null,
    people: [],
    tags: [],
    errors: [],
  };
}

const FORMAT_ALIASES: Record<string, string> = { jpg: 'jpeg', jpeg: 'jpeg', tif: 'tiff', tiff: 'tiff', heif: 'heic' };
const SHAPES: readonly Shape[] = ['portrait', 'landscape', 'square'];

const FILTER_KEYS =
  /^(folder|in|path|ext|format|type|camera|date|after|before|size|larger|smaller|width|height|pixels|is|orientation|has|person|tag|color|colour):(.*)$/i;

/** "2017" -> [2017-01-01T00:00:00, 2017-12-31T23:59:59]; also "2017-11" and "2017-11-07". */
export function dateRange(text: string): [string, string] | null {
  const m = /^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$/.exec(text);
  if (!m) return null;
  const y = m[1];
  const pad = (n: number) => String(n).padStart(2, '0');
  if (!m[2]) return [`${y}-01-01T00:00:00`, `${y}-12-31T23:59:59`];
  const mo = Number(m[2]);
  if (mo < 1 || mo > 12) return null;
  if (!m[3]) {
    const last = new Date(Date.UTC(Number(y), mo, 0)).getUTCDate();
    return [`${y}-${pad(mo)}-01T00:00:00`, `${y}-${pad(mo)}-${pad(last)}T23:59:59`];
  }
  const d = Number(m[3]);
  if (d < 1 || d > 31) return null;
  return [`${y}-${pad(mo)}-${pad(d)}T00:00:00`, `${y}-${pad(mo)}-${pad(d)}T23:59:59`];
}

/** A date or an exact ISO date-time ("2019-05-01T10:30" / "2019-05-01 10:30:15") as an inclusive bound. */
function dateBound(text: string, side: 'from' | 'to'): string | null {
  const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(text.trim());
  if (m) return `${m[1]}T${m[2]}:${m[3]}:${m[4] ?? (side === 'from' ? '00' : '59')}`;
  const r = dateRange(text.trim());
  return r ? (side === 'from' ? r[0] : r[1]) : null;
}

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Pixel counts: "4mp" (megapixels), "500kp", "2000000" or "2000000px". */
const COUNT_UNITS: Record<string, number> = { '': 1, px: 1, kp: 1e3, k: 1e3, mp: 1e6, m: 1e6 };

type Unit = 'bytes' | 'pixels' | 'count';

function quantity(text: string, unit: Unit): number | null {
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-z]*)$/i.exec(text.trim());
  if (!m) return null;
  const suffix = m[2].toLowerCase();
  const factor = unit === 'bytes' ? BYTE_UNITS[suffix] : unit === 'count' ? COUNT_UNITS[suffix] : suffix === '' || suffix === 'px' ? 1 : undefined;
  return factor === undefined ? null : Number(m[1]) * factor;
}

interface Bounds {
  min: number | null;
  max: number | null;
}

/**
 * ">2mb", ">=1000", "<500kb", "<=800", "=1920", "1mb..5mb" (inclusive, either side may be empty), or a
 * bare value: `bare` says what it means ("size:2mb" is at least 2 MB; "width:1920" is exactly 1920).
 */
function bounds(text: string, unit: Unit, bare: 'atLeast' | 'exact'): Bounds | null {
  if (text.includes('..')) {
    const [a, b] = text.split('..', 2);
    const lo = a.trim() ? quantity(a, unit) : null;
    const hi = b.trim() ? quantity(b, unit) : null;
    if ((a.trim() && lo === null) || (b.trim() && hi === null) || (lo === null && hi === null)) return null;
    return { min: lo === null ? null : Math.ceil(lo), max: hi === null ? null : Math.floor(hi) };
  }
  const m = /^(>=|<=|>|<|=)?(.*)$/.exec(text.trim());
  const q = m ? quantity(m[2], unit) : null;
  if (!m || q === null) return null;
  switch (m[1] ?? (bare === 'exact' ? '=' : '>=')) {
    case '>':
      return { min: Math.floor(q) + 1, max: null };
    case '>=':
      return { min: Math.ceil(q), max: null };
    case '<':
      return { min: null, max: Math.ceil(q) - 1 };
    case '<=':
      return { min: null, max: Math.floor(q) };
    default:
      return { min: Math.ceil(q), max: Math.floor(q) };
  }
}

type BoundField = 'Size' | 'Width' | 'Height' | 'Pixels';

function narrow(parsed: ParsedQuery, field: BoundField, b: Bounds): void {
  const minKey = `min${field}` as const;
  const maxKey = `max${field}` as const;
  if (b.min !== null && (parsed[minKey] === null || b.min > parsed[minKey]!)) parsed[minKey] = b.min;
  if (b.max !== null && (parsed[maxKey] === null || b.max < parsed[maxKey]!)) parsed[maxKey] = b.max;
}

function narrowFrom(parsed: ParsedQuery, v: string): void {
  if (!parsed.takenFrom || v > parsed.takenFrom) parsed.takenFrom = v;
}

function narrowTo(parsed: ParsedQuery, v: string): void {
  if (!parsed.takenTo || v < parsed.takenTo) parsed.takenTo = v;
}

function normaliseFormat(value: string): string {
  const f = value.trim().toLowerCase().replace(/^\./, '');
  return FORMAT_ALIASES[f] ?? f;
}

function normaliseFolder(value: string): string {
  return value.trim().replace(/^\/+|\/+$/g, '').toLowerCase();
}

function addShape(parsed: ParsedQuery, value: string, original: string): void {
  const v = value.trim().toLowerCase();
  if ((SHAPES as readonly string[]).includes(v)) {
    if (!parsed.shapes.includes(v as Shape)) parsed.shapes.push(v as Shape);
  } else parsed.errors.push(`${original} is not portrait, landscape or square`);
}

function tokenize(query: string): string[] {
  const out: string[] = [];
  const re = /(\w+:)?"([^"]*)"|\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(query))) out.push(m[2] !== undefined ? `${m[1] ?? ''}${m[2]}` : m[0]);
  return out;
}

export function parseQuery(query: string): ParsedQuery {
  const parsed = emptyQuery();
  for (const token of tokenize(query)) {
    const m = FILTER_KEYS.exec(token);
    if (!m || m[2].trim() === '') {
      const term = token.toLowerCase().trim();
      if (term) parsed.terms.push(term);
      continue;
    }
    const key = m[1].toLowerCase();
    const value = m[2].trim();
    switch (key) {
      case 'folder':
      case 'in':
        parsed.folders.push(normaliseFolder(value));
        break;
      case 'path':
        parsed.paths.push(value.toLowerCase());
        break;
      case 'ext':
      case 'format':
      case 'type':
        parsed.formats.push(normaliseFormat(value));
        break;
      case 'camera':
        parsed.cameras.push(value.toLowerCase());
        break;
      case 'date': {
        const [a, b] = value.includes('..') ? value.split('..', 2) : [value, value];
        const from = a ? dateRange(a) : null;
        const to = b ? dateRange(b) : null;
        if ((a && !from) || (b && !to)) parsed.errors.push(`date "${value}" is not YYYY, YYYY-MM, YYYY-MM-DD or a range A..B`);
        if (from) narrowFrom(parsed, from[0]);
        if (to) narrowTo(parsed, to[1]);
        break;
      }
      case 'after':
      case 'before': {
        const r = dateRange(value);
        if (!r) parsed.errors.push(`${key} "${value}" is not a date`);
        else if (key === 'after') narrowFrom(parsed, r[0]);
        else narrowTo(parsed, r[1]);
        break;
      }
      case 'size':
      case 'larger':
      case 'smaller': {
        const b = bounds(key === 'size' ? value : `${key === 'larger' ? '>' : '<'}${value.replace(/^[<>=]+/, '')}`, 'bytes', 'atLeast');
        if (b) narrow(parsed, 'Size', b);
        else parsed.errors.push(`${key} "${value}" is not a size such as 2mb, >500kb, <1.5mb or 1mb..5mb`);
        break;
      }
      case 'width':
      case 'height': {
        const b = bounds(value, 'pixels', 'exact');
        if (b) narrow(parsed, key === 'width' ? 'Width' : 'Height', b);
        else parsed.errors.push(`${key} "${value}" is not a pixel count such as 1920, >1000, <=800 or 800..1600`);
        break;
      }
      case 'pixels': {
        const b = bounds(value, 'count', 'atLeast');
        if (b) narrow(parsed, 'Pixels', b);
        else parsed.errors.push(`pixels "${value}" is not a pixel count such as >4mp, 12mp, <500kp or 2mp..8mp`);
        break;
      }
      case 'is':
      case 'orientation':
        addShape(parsed, value, `${key}:${value}`);
        break;
      case 'has': {
        const v = value.toLowerCase();
        if (v === 'text') parsed.hasText = true;
        else if (v === 'faces' || v === 'face') parsed.hasFaces = true;
        // has:dog, has:people: a tag (answered by the tag provider).
        else parsed.tags.push(v);
        break;
      }
      case 'person':
        parsed.people.push(value.toLowerCase());
        break;
      case 'tag':
      case 'color':
      case 'colour':
        parsed.tags.push(value.toLowerCase());
        break;
    }
  }
  return parsed;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Adds the UI's structured filters to a parsed query (both apply). Invalid values become errors. */
export function withFilters(parsed: ParsedQuery, filters: SearchFilters | undefined): ParsedQuery {
  if (!filters) return parsed;
  const q: ParsedQuery = { ...parsed, errors: [...parsed.errors] };
  const strings = (name: string, v: string | string[] | undefined): string[] => {
    const values = list(v).filter((s) => {
      const ok = typeof s === 'string' && s.trim() !== '';
      if (!ok) q.errors.push(`filter ${name}: ${JSON.stringify(s)} is not a non-empty string`);
      return ok;
    });
    return values;
  };
  q.folders = [...q.folders, ...strings('folder', filters.folder).map(normaliseFolder)];
  q.paths = [...q.paths, ...strings('path', filters.path).map((p) => p.toLowerCase())];
  q.formats = [...q.formats, ...strings('formats', filters.formats).map(normaliseFormat)];
  q.cameras = [...q.cameras, ...strings('camera', filters.camera).map((c) => c.trim().toLowerCase())];
  q.people = [...q.people, ...strings('person', filters.person).map((p) => p.trim().toLowerCase())];
  q.tags = [...q.tags, ...strings('tag', filters.tag).map((t) => t.trim().toLowerCase())];
  for (const [name, side] of [['takenFrom', 'from'], ['takenTo', 'to']] as const) {
    const v = filters[name];
    if (v === undefined || v === null || v === '') continue;
    const b = typeof v === 'string' ? dateBound(v, side) : null;
    if (!b) q.errors.push(`filter ${name}: ${JSON.stringify(v)} is not a date (YYYY, YYYY-MM, YYYY-MM-DD or an ISO date-time)`);
    else if (side === 'from') narrowFrom(q, b);
    else narrowTo(q, b);
  }
  const numbers: Array<[keyof SearchFilters, BoundField, 'min' | 'max']> = [
    ['minSize', 'Size', 'min'],
    ['maxSize', 'Size', 'max'],
    ['minWidth', 'Width', 'min'],
    ['maxWidth', 'Width', 'max'],
    ['minHeight', 'Height', 'min'],
    ['maxHeight', 'Height', 'max'],
    ['minPixels', 'Pixels', 'min'],
    ['maxPixels', 'Pixels', 'max'],
  ];
  for (const [name, field, side] of numbers) {
    const v = filters[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      q.errors.push(`filter ${name}: ${JSON.stringify(v)} is not a non-negative number`);
      continue;
    }
    narrow(q, field, side === 'min' ? { min: Math.ceil(v), max: null } : { min: null, max: Math.floor(v) });
  }
  q.shapes = [...q.shapes];
  for (const s of list(filters.orientation)) addShape(q, String(s), `filter orientation: ${JSON.stringify(s)}`);
  for (const [name, key] of [['hasText', 'hasText'], ['hasFaces', 'hasFaces']] as const) {
    const v = filters[name];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'boolean') q.errors.push(`filter ${name}: ${JSON.stringify(v)} is not true or false`);
    else if (q[key] !== null && q[key] !== v) q.errors.push(`filter ${name}: contradicts the query`);
    else q[key] = v;
  }
  return q;
}
