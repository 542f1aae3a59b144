import type { DuckDBValue } from '@duckdb/node-api';
import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import type { Asset } from '../catalog/types';
import { matchTerm } from './filename-match';
import { parseQuery, type ParsedQuery } from './query-parser';

/** Why an item matched, shown to the user as a chip. */
export interface MatchReason {
  kind: 'filename' | 'folder' | 'date' | 'camera' | 'format';
  text: string;
}

export interface SearchHit {
  id: number;
  relPath: string;
  score: number;
  reasons: MatchReason[];
  /** Absolute path of the WebP thumbnail, if one was made. */
  thumbnail: string | null;
  width: number | null;
  height: number | null;
  format: string | null;
  takenAt: string | null;
}

export interface SearchOptions {
  limit?: number;
  /** Opaque cursor from a previous page. */
  cursor?: string | null;
}

export interface SearchResult {
  query: string;
  items: SearchHit[];
  total: number;
  nextCursor: string | null;
  /** Problems with the query the user should see (bad date, ...). */
  warnings: string[];
}

/** Turns the typed filters into a SQL condition with bound parameters. */
function filterSql(q: ParsedQuery): { where: string; params: DuckDBValue[] } {
  const parts: string[] = [`status = 'ok'`];
  const params: DuckDBValue[] = [];
  const p = (v: DuckDBValue) => {
    params.push(v);
    return `$${params.length}`;
  };
  for (const folder of q.folders) {
    // "folder:trips/2019" matches that folder anywhere; a bare name matches any folder segment containing it.
    parts.push(
      folder.includes('/')
        ? `(starts_with(lower(rel_path), ${p(`${folder}/`)}) OR contains(lower(rel_path), ${p(`/${folder}/`)}))`
        : `list_has_any(list_transform(string_split(lower(rel_path), '/')[1:-2], s -> contains(s, ${p(folder)})), [true])`,
    );
  }
  for (const path of q.paths) parts.push(`contains(lower(rel_path), ${p(path)})`);
  if (q.formats.length) parts.push(`format IN (${q.formats.map((f) => p(f)).join(', ')})`);
  for (const cam of q.cameras) {
    parts.push(`contains(lower(coalesce(camera_make, '') || ' ' || coalesce(camera_model, '')), ${p(cam)})`);
  }
  if (q.takenFrom) parts.push(`taken_at >= ${p(q.takenFrom)}`);
  if (q.takenTo) parts.push(`taken_at <= ${p(q.takenTo)}`);
  if (q.terms.length) {
    parts.push(`(${q.terms.map((t) => `contains(lower(rel_path), ${p(t.split(/\s+/)[0])})`).join(' OR ')})`);
  }
  return { where: parts.join(' AND '), params };
}

function filterReasons(q: ParsedQuery, a: Asset): MatchReason[] {
  const reasons: MatchReason[] = [];
  if (q.takenFrom || q.takenTo) reasons.push({ kind: 'date', text: `taken ${a.takenAt?.replace('T', ' ')}` });
  if (q.cameras.length) reasons.push({ kind: 'camera', text: [a.cameraMake, a.cameraModel].filter(Boolean).join(' ') });
  if (q.formats.length) reasons.push({ kind: 'format', text: a.format ?? '' });
  return reasons;
}

/**
 * Searches one root's catalog. Free words match file and folder names (all words beat some words);
 * filters narrow by folder, path, format, camera and capture date.
 */
export async function searchCatalog(catalog: Catalog, query: string, options: SearchOptions = {}): Promise<SearchResult> {
  const limit = Math.max(1, Math.min(options.limit ?? 50, 1000));
  const offset = options.cursor ? Math.max(0, Number.parseInt(options.cursor, 10) || 0) : 0;
  const q = parseQuery(query);
  const { where, params } = filterSql(q);
  const candidates = await catalog.findAssets(where, params);

  const hits: SearchHit[] = [];
  for (const a of candidates) {
    let score = 1;
    const reasons: MatchReason[] = [];
    if (q.terms.length) {
      let sum = 0;
      let matched = 0;
      for (const term of q.terms) {
        const m = matchTerm(term, a.relPath);
        if (!m) continue;
        matched++;
        sum += m.score;
        reasons.push({ kind: m.where, text: `"${term}" in ${m.where === 'filename' ? 'file name' : 'folder'}` });
      }
      if (matched === 0) continue;
      // Every word matching outranks any partial match.
      score = (sum / q.terms.length) * (matched === q.terms.length ? 1 : 0.5);
    }
    reasons.push(...filterReasons(q, a));
    hits.push({
      id: a.id,
      relPath: a.relPath,
      score: Math.round(score * 1000) / 1000,
      reasons,
      thumbnail: a.thumb ? join(catalog.thumbsDir, a.thumb) : null,
      width: a.width,
      height: a.height,
      format: a.format,
      takenAt: a.takenAt,
    });
  }
  hits.sort((x, y) => y.score - x.score || (y.takenAt ?? '').localeCompare(x.takenAt ?? '') || x.relPath.localeCompare(y.relPath));
  const page = hits.slice(offset, offset + limit);
  return {
    query,
    items: page,
    total: hits.length,
    nextCursor: offset + limit < hits.length ? String(offset + limit) : null,
    warnings: q.errors,
  };
}
