import { posix } from 'node:path';
import type { StoredReference } from '../references/reference-index';

/**
 * The text that should replace `ref.raw` so the link points at `newTarget` (root-relative),
 * keeping the link's style: root-absolute or relative, a leading "./", percent-encoding, and any
 * ?query or #fragment.
 */
export function rewrittenLink(ref: StoredReference, newTarget: string): string {
  const cut = ref.raw.search(/[?#]/);
  const suffix = cut >= 0 ? ref.raw.slice(cut) : '';
  const rawPath = cut >= 0 ? ref.raw.slice(0, cut) : ref.raw;
  let path: string;
  if (rawPath.startsWith('/')) path = `/${newTarget}`;
  else {
    path = posix.relative(posix.dirname(ref.document), newTarget);
    if (rawPath.startsWith('./') && !path.startsWith('../')) path = `./${path}`;
  }
  const wasEncoded = /%[0-9a-fA-F]{2}/.test(rawPath);
  const hasLiteralSpace = rawPath.includes(' ');
  const bareMarkdown = ref.syntax.startsWith('md-') && !hasLiteralSpace;
  // '#', '?' and '%' in a file name would read as a fragment, a query or an escape: always encode them.
  if (wasEncoded || /[#?%]/.test(path) || (bareMarkdown && /[ ()<>]/.test(path))) {
    path = path.split('/').map((seg) => encodeURIComponent(seg).replace(/[()]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join('/');
  }
  return path + suffix;
}

export interface TextEdit {
  start: number;
  end: number;
  from: string;
  to: string;
}

/** Applies edits (non-overlapping) to text, checking each still finds what it expects. */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    if (out.slice(e.start, e.end) !== e.from) throw new Error(`expected "${e.from}" at ${e.start}`);
    out = out.slice(0, e.start) + e.to + out.slice(e.end);
  }
  return out;
}
