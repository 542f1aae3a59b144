/**
 * Pure helpers for image links in Markdown, MDX and HTML documents: building a relative link with alt
 * text, finding the link under the cursor (hover), and reading the query typed after `![`
 * (completion). No VS Code imports, so they are unit-tested directly.
 */
import { posix, relative, sep, dirname, parse } from 'node:path';

export type LinkFlavour = 'markdown' | 'html';

/** Which link syntax a document language wants. */
export function flavourFor(languageId: string): LinkFlavour {
  return languageId === 'html' ? 'html' : 'markdown';
}

/**
 * The path from a document to an image, POSIX separators, each segment URL-encoded the way
 * Markdown renderers expect (spaces and parentheses encoded; letters with accents kept as typed).
 */
export function relativeImagePath(documentPath: string, imagePath: string): string {
  const rel = relative(dirname(documentPath), imagePath).split(sep).join(posix.sep);
  return rel
    .split('/')
    .map((segment) => segment.replace(/[ ()<>#?%\[\]"'`\\]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`))
    .join('/');
}

/** What the alt text can be made from. */
export interface AltSource {
  relPath: string;
  tags?: ReadonlyArray<{ name: string; score: number; source?: string }>;
  ocrText?: string | null;
}

const MAX_ALT = 100;

/**
 * Alt text for an inserted image: the words in it when it is mostly text (a screenshot, a slide), else
 * its best tags, else its file name made readable ("red-flowers_02.jpg" -> "red flowers 02").
 */
export function altTextFor(source: AltSource): string {
  const ocr = (source.ocrText ?? '').replace(/\s+/g, ' ').trim();
  if (ocr.length >= 3) return clip(ocr);
  // Colours alone ("yellow, pink") describe nothing: alt text comes from what the image shows.
  const tags = (source.tags ?? []).filter((t) => t.score >= 0.2 && t.source !== 'colour').slice(0, 3).map((t) => t.name);
  if (tags.length > 0) return clip(tags.join(', '));
  return clip(humaniseFileName(source.relPath));
}

export function humaniseFileName(relPath: string): string {
  const stem = parse(relPath).name;
  return stem.replace(/[-_.]+/g, ' ').replace(/\s+/g, ' ').trim() || stem;
}

function clip(text: string): string {
  if (text.length <= MAX_ALT) return text;
  const cut = text.slice(0, MAX_ALT);
  const lastSpace = cut.lastIndexOf(' ');
  return `${(lastSpace > 40 ? cut.slice(0, lastSpace) : cut).trimEnd()}…`;
}

/** The link text itself, escaped for its flavour. */
export function imageLink(flavour: LinkFlavour, alt: string, target: string): string {
  if (flavour === 'html') return `<img src="${escapeHtml(target)}" alt="${escapeHtml(alt)}">`;
  return `![${alt.replace(/([\[\]\\])/g, '\\$1')}](${target})`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An image link found in a line, with its target decoded to a path. */
export interface LinkAt {
  target: string;
  start: number;
  end: number;
}

const MD_IMAGE = /!\[(?:[^\]\\]|\\.)*\]\(\s*(<[^>]*>|[^\s)]+)(?:\s+"[^"]*")?\s*\)/g;
const HTML_IMG = /<img\b[^>]*?\bsrc\s*=\s*("([^"]*)"|'([^']*)')[^>]*>/gi;

/** The image link (Markdown `![..](..)` or HTML `<img src>`) covering `character`, if any. */
export function imageLinkAt(line: string, character: number): LinkAt | null {
  for (const m of line.matchAll(MD_IMAGE)) {
    const start = m.index ?? 0;
    const end = start + m[0].length;
    if (character >= start && character <= end) {
      const raw = m[1].startsWith('<') ? m[1].slice(1, -1) : m[1];
      return { target: decodeTarget(raw), start, end };
    }
  }
  for (const m of line.matchAll(HTML_IMG)) {
    const start = m.index ?? 0;
    const end = start + m[0].length;
    if (character >= start && character <= end) return { target: decodeTarget(m[2] ?? m[3] ?? ''), start, end };
  }
  return null;
}

function decodeTarget(raw: string): string {
  const noFragment = raw.replace(/[?#].*$/, '');
  try {
    return decodeURI(noFragment).replace(/%28/gi, '(').replace(/%29/gi, ')').replace(/%23/g, '#');
  } catch {
    return noFragment;
  }
}

/** True for link targets that are not files next to the document (web addresses, data URIs). */
export function isExternalTarget(target: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(target) && !/^file:/i.test(target);
}

/**
 * The query typed so far after an unfinished `![` on this line (before the cursor), or null when the
 * cursor is not inside one: `See ![red flow` -> "red flow".
 */
export function completionQuery(linePrefix: string): { query: string; start: number } | null {
  const m = /!\[([^\[\]]*)$/.exec(linePrefix);
  if (!m) return null;
  return { query: m[1].trim(), start: m.index };
}

/**
 * The local files a drop or paste carries: `file:` URIs from a `text/uri-list` (comments skipped),
 * or plain text that is nothing but absolute paths or `file:` URIs, one per line (what Loupe's
 * "Copy Path" puts on the clipboard). Any other text gives [] so an ordinary paste stays ordinary.
 */
export function pastedFilePaths(uriList: string | undefined, plainText: string | undefined): string[] {
  const fromUri = (u: string): string | null => {
    try {
      const url = new URL(u);
      return url.protocol === 'file:' ? decodeURIComponent(url.pathname) : null;
    } catch {
      return null;
    }
  };
  if (uriList) {
    return uriList
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'))
      .map(fromUri)
      .filter((p): p is string => p !== null);
  }
  const lines = (plainText ?? '').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  if (lines.length === 0 || lines.length > 100) return [];
  const paths: string[] = [];
  for (const line of lines) {
    const p = /^file:\/\//i.test(line) ? fromUri(line) : posix.isAbsolute(line) || /^[A-Za-z]:[\\/]/.test(line) ? line : null;
    if (!p) return [];
    paths.push(p);
  }
  return paths;
}
