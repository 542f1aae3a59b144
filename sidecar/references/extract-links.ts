/**
 * Finds references to local files in documents, with exact byte ranges so a link can later be
 * rewritten in place without touching anything else. Remote URLs, data: URIs and anchors are skipped.
 */

export type DocumentKind = 'markdown' | 'html' | 'css' | 'json';

export interface FileReference {
  /** The link target exactly as written (may be URL-encoded, may carry ?query or #hash). */
  raw: string;
  /** The decoded path part, without query or hash. */
  path: string;
  /** [start, end) of `raw` in the document text (UTF-16 offsets). */
  start: number;
  end: number;
  syntax: 'md-image' | 'md-link' | 'md-definition' | 'html-attr' | 'css-url' | 'json-string';
}

const DOCUMENT_EXTENSIONS: Record<string, DocumentKind> = {
  md: 'markdown', markdown: 'markdown', mdx: 'markdown', mdown: 'markdown',
  html: 'html', htm: 'html', xhtml: 'html', vue: 'html', svelte: 'html', astro: 'html',
  css: 'css', scss: 'css', sass: 'css', less: 'css',
  json: 'json',
};

export function documentKind(fileName: string): DocumentKind | null {
  const dot = fileName.lastIndexOf('.');
  return dot < 0 ? null : DOCUMENT_EXTENSIONS[fileName.slice(dot + 1).toLowerCase()] ?? null;
}

function isLocal(target: string): boolean {
  if (target === '' || target.startsWith('#')) return false;
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) && !/^[a-z]:[\\/]/i.test(target)) return false; // http:, data:, mailto: (not C:\)
  if (target.startsWith('//')) return false;
  return true;
}

function decodePath(raw: string): string {
  const cut = raw.search(/[?#]/);
  const path = cut >= 0 ? raw.slice(0, cut) : raw;
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}

function push(out: FileReference[], raw: string, start: number, syntax: FileReference['syntax']): void {
  if (!isLocal(raw)) return;
  out.push({ raw, path: decodePath(raw), start, end: start + raw.length, syntax });
}

/** Ranges of fenced code blocks and inline code spans, where links are only text. */
function codeRanges(text: string): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const fence = /^( {0,3})(`{3,}|~{3,})[^\n]*\n[\s\S]*?(?:^\1?\2[`~]*[ \t]*$|(?![\s\S]))/gm;
  let m: RegExpExecArray | null;
  while ((m = fence.exec(text))) ranges.push([m.index, m.index + m[0].length]);
  const inline = /(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g;
  while ((m = inline.exec(text))) {
    const start = m.index;
    if (!ranges.some(([a, b]) => start >= a && start < b)) ranges.push([start, start + m[0].length]);
  }
  return ranges;
}

function inRanges(pos: number, ranges: Array<[number, number]>): boolean {
  return ranges.some(([a, b]) => pos >= a && pos < b);
}

function htmlAttributes(text: string, out: FileReference[], skip: Array<[number, number]> = []): void {
  // src, href, poster, data-src on any tag; srcset lists several candidates.
  const attr = /<[a-zA-Z][^>]*?\s(src|href|poster|data-src|srcset)\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/g;
  let m: RegExpExecArray | null;
  while ((m = attr.exec(text))) {
    if (inRanges(m.index, skip)) continue;
    const value = m[3] ?? m[4] ?? m[5] ?? '';
    const valueStart = m.index + m[0].length - (m[5] !== undefined ? value.length : value.length + 1);
    if (m[1].toLowerCase() === 'srcset') {
      const candidate = /[^\s,][^\s]*/g;
      let c: RegExpExecArray | null;
      let expectUrl = true;
      while ((c = candidate.exec(value))) {
        if (expectUrl) push(out, c[0].replace(/,$/, ''), valueStart + c.index, 'html-attr');
        expectUrl = c[0].endsWith(',') ? true : !expectUrl;
      }
    } else {
      push(out, value.trim(), valueStart + value.indexOf(value.trim()), 'html-attr');
    }
    attr.lastIndex = m.index + m[0].length;
  }
}

function cssUrls(text: string, out: FileReference[], skip: Array<[number, number]> = []): void {
  const url = /url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)/g;
  let m: RegExpExecArray | null;
  while ((m = url.exec(text))) {
    if (inRanges(m.index, skip)) continue;
    const value = m[1] ?? m[2] ?? m[3] ?? '';
    const offset = m[0].indexOf(value, 4);
    push(out, value, m.index + offset, 'css-url');
  }
}

function markdownLinks(text: string, out: FileReference[]): void {
  const skip = codeRanges(text);
  // ![alt](target "title") and [text](target): target may be <angle bracketed> or bare (balanced parens).
  const inline = /(!?)\[(?:[^\]\\]|\\.)*\]\(\s*(<([^>\n]*)>|((?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))+))/g;
  let m: RegExpExecArray | null;
  while ((m = inline.exec(text))) {
    if (inRanges(m.index, skip)) continue;
    const target = m[3] ?? m[4] ?? '';
    const targetStart = m.index + m[0].length - target.length - (m[3] !== undefined ? 1 : 0);
    push(out, target, targetStart, m[1] ? 'md-image' : 'md-link');
  }
  const definition = /^ {0,3}\[[^\]\n]+\]:[ \t]*(<([^>\n]*)>|(\S+))/gm;
  while ((m = definition.exec(text))) {
    if (inRanges(m.index, skip)) continue;
    const target = m[2] ?? m[3] ?? '';
    const targetStart = m.index + m[0].length - target.length - (m[2] !== undefined ? 1 : 0);
    push(out, target, targetStart, 'md-definition');
  }
  htmlAttributes(text, out, skip);
}

function jsonStrings(text: string, out: FileReference[]): void {
  // Only strings that look like relative or absolute paths to a file with an extension.
  const str = /"((?:[^"\\\n]|\\.)*\.[a-zA-Z0-9]{2,5})"/g;
  let m: RegExpExecArray | null;
  while ((m = str.exec(text))) {
    const value = m[1];
    if (value.includes('\\') || /\s/.test(value)) continue;
    if (!value.includes('/') && !value.startsWith('.')) continue;
    push(out, value, m.index + 1, 'json-string');
  }
}

/** All local file references in a document, in order of position. */
export function extractReferences(text: string, kind: DocumentKind): FileReference[] {
  const out: FileReference[] = [];
  switch (kind) {
    case 'markdown':
      markdownLinks(text, out);
      break;
    case 'html':
      htmlAttributes(text, out);
      cssUrls(text, out);
      break;
    case 'css':
      cssUrls(text, out);
      break;
    case 'json':
      jsonStrings(text, out);
      break;
  }
  const seen = new Set<number>();
  return out.filter((r) => (seen.has(r.start) ? false : (seen.add(r.start), true))).sort((a, b) => a.start - b.start);
}
