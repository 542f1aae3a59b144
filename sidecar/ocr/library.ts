import type { Catalog } from '../catalog/catalog';
import { parseOcrQuery, type OcrTextIndex } from './text-search';

export interface OcrLineInfo {
  index: number;
  text: string;
  /** Corners x0,y0,x1,y1,x2,y2,x3,y3 in full-image pixels (after EXIF rotation), reading order. */
  box: number[];
  confidence: number;
}

export interface OcrTextInfo {
  text: string;
  language: string | null;
  /** Clockwise rotation that made the page upright. */
  rotation: number;
  /** True when some text regions were left unread (too many tiny boxes). */
  truncated: boolean;
  lines: OcrLineInfo[];
}

export interface OcrSearchItem {
  id: number;
  relPath: string;
  score: number;
  /** Query words or phrases found. */
  matched: number;
  /** The recognised lines holding the matches, with their boxes (to highlight on the image). */
  lines: OcrLineInfo[];
  terms: string[];
}

function lineInfo(r: Record<string, unknown>): OcrLineInfo {
  return {
    index: Number(r.line_index),
    text: String(r.text),
    box: (r.box as number[]).map(Number),
    confidence: Number(r.confidence),
  };
}

/** The recognised text of one asset, or null when it has not been read (or OCR is off). */
export async function ocrOfAsset(catalog: Catalog, id: number): Promise<OcrTextInfo | null> {
  const [t] = await catalog.read('SELECT text, language, rotation, truncated FROM ocr_text WHERE asset_id = ?', [id]);
  if (!t) return null;
  const lines = await catalog.read('SELECT line_index, text, confidence, box FROM ocr_lines WHERE asset_id = ? ORDER BY line_index', [id]);
  return {
    text: String(t.text),
    language: t.language === null ? null : String(t.language),
    rotation: Number(t.rotation),
    truncated: Boolean(t.truncated),
    lines: lines.map(lineInfo),
  };
}

/** Text search with the matching lines of each hit read from the catalog. */
export async function searchOcr(catalog: Catalog, index: OcrTextIndex, query: string, limit = 50): Promise<{ items: OcrSearchItem[]; total: number }> {
  const hits = index.search(parseOcrQuery(query));
  const page = hits.slice(0, Math.max(1, Math.min(limit, 1000)));
  if (page.length === 0) return { items: [], total: 0 };
  const ids = page.map((h) => h.assetId);
  const paths = new Map((await catalog.read(`SELECT id, rel_path FROM assets WHERE id IN (${ids.join(',')})`)).map((r) => [Number(r.id), String(r.rel_path)]));
  const rows = await catalog.read(`SELECT asset_id, line_index, text, confidence, box FROM ocr_lines WHERE asset_id IN (${ids.join(',')}) ORDER BY asset_id, line_index`);
  const linesBy = new Map<number, Map<number, OcrLineInfo>>();
  for (const r of rows) {
    const id = Number(r.asset_id);
    let m = linesBy.get(id);
    if (!m) linesBy.set(id, (m = new Map()));
    const l = lineInfo(r);
    m.set(l.index, l);
  }
  const items: OcrSearchItem[] = [];
  for (const h of page) {
    const relPath = paths.get(h.assetId);
    if (relPath === undefined) continue;
    const lines = linesBy.get(h.assetId);
    items.push({
      id: h.assetId,
      relPath,
      score: h.score,
      matched: h.matched,
      lines: h.lines.map((i) => lines?.get(i)).filter((l): l is OcrLineInfo => l !== undefined),
      terms: h.terms,
    });
  }
  return { items, total: hits.length };
}
