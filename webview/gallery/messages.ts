/** Messages between the gallery webview and the extension (both sides import this file), and the page's markup. */
import type { RootedSearchHit } from '../../sidecar/protocol';

/** Results per query page. */
export const GALLERY_PAGE = 300;

export interface GalleryItem {
  root: string;
  id: number;
  relPath: string;
  /** A webview URI for the thumbnail, or null. */
  thumb: string | null;
  score: number;
  reasons: string[];
  width: number | null;
  height: number | null;
}

export interface GalleryFilters {
  folder: string;
  tag: string;
  person: string;
  hasText: boolean;
  date: string;
  /** Images worth optimising: '' any, 'bytes' over 1 MB, 'pixels' over 4 megapixels. */
  large: '' | 'bytes' | 'pixels';
}

export type ToHost =
  | { type: 'ready' }
  | { type: 'query'; seq: number; text: string; filters: GalleryFilters; cursor: string | null }
  | { type: 'open'; item: Pick<GalleryItem, 'root' | 'id' | 'relPath'> }
  | { type: 'trash'; item: Pick<GalleryItem, 'root' | 'id' | 'relPath'> };

export type ToWebview =
  | { type: 'results'; seq: number; items: GalleryItem[]; total: number; nextCursor: string | null; append: boolean; note: string | null }
  | { type: 'error'; seq: number; message: string }
  | { type: 'status'; text: string }
  | { type: 'people'; names: string[] }
  | { type: 'refresh' };

/** The search query for the box and the filters, in the sidecar's query syntax. */
export function composeQuery(text: string, f: GalleryFilters): string {
  const quote = (v: string) => (/\s/.test(v) ? `"${v.replace(/"/g, '')}"` : v);
  const parts = [text.trim()];
  if (f.folder.trim()) parts.push(`folder:${quote(f.folder.trim())}`);
  if (f.tag.trim()) parts.push(`tag:${quote(f.tag.trim())}`);
  if (f.person.trim()) parts.push(`person:${quote(f.person.trim())}`);
  if (f.hasText) parts.push('has:text');
  if (f.date.trim()) parts.push(`date:${f.date.trim()}`);
  if (f.large === 'bytes') parts.push('larger:1mb');
  if (f.large === 'pixels') parts.push('pixels:>4mp');
  return parts.filter(Boolean).join(' ');
}

/** Search hits as grid items; `thumbUri` turns a thumbnail path into a URI the webview may load. */
export function galleryItems(hits: readonly RootedSearchHit[], thumbUri: (path: string) => string): GalleryItem[] {
  return hits.map((h) => ({
    root: h.root,
    id: h.id,
    relPath: h.relPath,
    thumb: h.thumbnail ? thumbUri(h.thumbnail) : null,
    score: h.score,
    reasons: h.reasons.map((r) => r.text),
    width: h.width,
    height: h.height,
  }));
}

/** The gallery page's body (its script finds these elements by id). */
export const GALLERY_BODY = `<div class="bar">
  <input id="search" type="search" placeholder="Search images" aria-label="Search images">
  <details>
    <summary>Filters</summary>
    <div class="filters">
      <label for="f-folder">Folder</label><input id="f-folder" type="text" placeholder="e.g. assets/icons">
      <label for="f-tag">Tag</label><input id="f-tag" type="text" placeholder="e.g. dog">
      <label for="f-person">Person</label><input id="f-person" type="text" list="people" placeholder="a named person">
      <label for="f-date">Date</label><input id="f-date" type="text" placeholder="2024, 2024-05, 2024-05-01">
      <label for="f-text">Has text</label><input id="f-text" type="checkbox">
      <label for="f-large">Large</label><select id="f-large"><option value="">any size</option><option value="bytes">over 1 MB</option><option value="pixels">over 4 megapixels</option></select>
    </div>
    <datalist id="people"></datalist>
  </details>
</div>
<div id="status" role="status" aria-live="polite"></div>
<div id="scroller"><div id="canvas" role="grid" aria-label="Images"></div></div>`;
