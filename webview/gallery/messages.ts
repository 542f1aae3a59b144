/** Messages between the gallery webview and the extension (both sides import this file). */

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
