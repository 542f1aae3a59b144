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
  errors: string[];
}

const FORMAT_ALIASES: Record<string, string> = { jpg: 'jpeg', jpeg: 'jpeg', tif: 'tiff', tiff: 'tiff', heif: 'heic' };

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

function tokenize(query: string): string[] {
  const out: string[] = [];
  const re = /(\w+:)?"([^"]*)"|\S+/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(query))) out.push(m[2] !== undefined ? `${m[1] ?? ''}${m[2]}` : m[0]);
  return out;
}

export function parseQuery(query: string): ParsedQuery {
  const parsed: ParsedQuery = { terms: [], folders: [], paths: [], formats: [], cameras: [], takenFrom: null, takenTo: null, errors: [] };
  const narrowFrom = (v: string) => { if (!parsed.takenFrom || v > parsed.takenFrom) parsed.takenFrom = v; };
  const narrowTo = (v: string) => { if (!parsed.takenTo || v < parsed.takenTo) parsed.takenTo = v; };
  for (const token of tokenize(query)) {
    const m = /^(folder|in|path|ext|format|type|camera|date|after|before):(.*)$/i.exec(token);
    if (!m || m[2] === '') {
      const term = token.toLowerCase().trim();
      if (term) parsed.terms.push(term);
      continue;
    }
    const key = m[1].toLowerCase();
    const value = m[2].trim();
    switch (key) {
      case 'folder':
      case 'in':
        parsed.folders.push(value.replace(/^\/+|\/+$/g, '').toLowerCase());
        break;
      case 'path':
        parsed.paths.push(value.toLowerCase());
        break;
      case 'ext':
      case 'format':
      case 'type': {
        const f = value.toLowerCase().replace(/^\./, '');
        parsed.formats.push(FORMAT_ALIASES[f] ?? f);
        break;
      }
      case 'camera':
        parsed.cameras.push(value.toLowerCase());
        break;
      case 'date': {
        const [a, b] = value.includes('..') ? value.split('..', 2) : [value, value];
        const from = a ? dateRange(a) : null;
        const to = b ? dateRange(b) : null;
        if ((a && !from) || (b && !to)) parsed.errors.push(`date "${value}" is not YYYY, YYYY-MM, YYYY-MM-DD or a range A..B`);
        if (from) narrowFrom(from[0]);
        if (to) narrowTo(to[1]);
        break;
      }
      case 'after': {
        const r = dateRange(value);
        if (r) narrowFrom(r[0]);
        else parsed.errors.push(`after "${value}" is not a date`);
        break;
      }
      case 'before': {
        const r = dateRange(value);
        if (r) narrowTo(r[1]);
        else parsed.errors.push(`before "${value}" is not a date`);
        break;
      }
    }
  }
  return parsed;
}
