/**
 * Paging cursors: opaque base64url of the last item's sort key (score, capture time, path, id), the
 * fingerprint of the query that made it, and the id of the engine's frozen copy of the ranking.
 */
import type { ParsedQuery } from './query-parser';

export class SearchCursorError extends Error {
  constructor(
    readonly code: 'malformed' | 'other-query',
    message: string,
  ) {
    super(message);
    this.name = 'SearchCursorError';
  }
}

export interface CursorState {
  fingerprint: string;
  /** Exact (unrounded) score of the last item. */
  score: number;
  takenKey: number;
  relPath: string;
  id: number;
  /** Frozen ranking this page came from, if any. */
  snapshot: string | null;
}

interface Wire {
  v: 1;
  f: string;
  s: number;
  t: number;
  p: string;
  i: number;
  n?: string;
}

function fnv1a(text: string, seed: number): string {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Identifies what a query asks for, whatever its spelling order ("ext:png cat" = "cat ext:png"). */
export function queryFingerprint(q: ParsedQuery): string {
  const sorted = (a: readonly string[]) => [...a].sort();
  const canonical = JSON.stringify([
    sorted(q.terms),
    sorted(q.folders),
    sorted(q.paths),
    sorted(q.formats),
    sorted(q.cameras),
    q.takenFrom,
    q.takenTo,
    q.minSize,
    q.maxSize,
    q.minWidth,
    q.maxWidth,
    q.minHeight,
    q.maxHeight,
    q.minPixels,
    q.maxPixels,
    sorted(q.shapes),
    q.hasText,
    q.hasFaces,
    sorted(q.people),
    sorted(q.tags),
  ]);
  return fnv1a(canonical, 0x811c9dc5) + fnv1a(canonical, 0x01234567);
}

export function encodeCursor(c: CursorState): string {
  const wire: Wire = { v: 1, f: c.fingerprint, s: c.score, t: c.takenKey, p: c.relPath, i: c.id };
  if (c.snapshot) wire.n = c.snapshot;
  return Buffer.from(JSON.stringify(wire), 'utf8').toString('base64url');
}

/** Throws SearchCursorError when the cursor is not one of ours or belongs to another query. */
export function decodeCursor(cursor: string, fingerprint: string): CursorState {
  let wire: Partial<Wire> | null = null;
  try {
    wire = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<Wire>;
  } catch {
    wire = null;
  }
  if (
    !wire ||
    typeof wire !== 'object' ||
    wire.v !== 1 ||
    typeof wire.f !== 'string' ||
    typeof wire.s !== 'number' ||
    typeof wire.t !== 'number' ||
    typeof wire.p !== 'string' ||
    typeof wire.i !== 'number' ||
    (wire.n !== undefined && typeof wire.n !== 'string')
  ) {
    throw new SearchCursorError('malformed', 'the cursor is not one this search returned; start the search again without a cursor');
  }
  if (wire.f !== fingerprint) {
    throw new SearchCursorError(
      'other-query',
      'the cursor belongs to a different query or filters; start the search again without a cursor',
    );
  }
  return { fingerprint: wire.f, score: wire.s, takenKey: wire.t, relPath: wire.p, id: wire.i, snapshot: wire.n ?? null };
}
