/** Text: search within the words Loupe read in images, with the matching lines and thumbnails; copy an image's text. */
import { useEffect, useRef, useState } from 'preact/hooks';
import { Empty, ErrorState, Loading } from './components';
import { Detail } from './detail';
import { callRaw, host, RpcError } from './rpc';

/** One `ocr/search` hit as the panel reads it. */
export interface TextHit {
  root: string;
  id: number;
  relPath: string;
  thumbnail: string | null;
  score: number;
  lines: Array<{ text: string; box: number[]; confidence: number }>;
  text?: string;
  /** The recognised words that matched (typos in the query resolve to these). */
  terms?: string[];
}

export function highlight(text: string, words: string[]) {
  const ws = words.map((w) => w.toLowerCase()).filter((w) => w.length > 1);
  if (ws.length === 0) return text;
  const re = new RegExp(`(${ws.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'gi');
  return text.split(re).map((part, i) => (i % 2 === 1 ? <mark key={i}>{part}</mark> : part));
}

export function TextView() {
  const [query, setQuery] = useState('');
  const [hits, setHits] = useState<TextHit[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<TextHit | null>(null);
  const seq = useRef(0);
  useEffect(() => {
    const my = ++seq.current;
    if (!query.trim()) {
      setHits([]);
      return;
    }
    const t = setTimeout(() => {
      callRaw('ocr/search', { query, limit: 100 }).then(
        (r) => my === seq.current && (setHits((r as { items: TextHit[] }).items), setError(null)),
        (e: unknown) => my === seq.current && setError(e instanceof RpcError && e.code === -32601 ? new Error('Text search needs OCR, which this sidecar does not have.') : e),
      );
    }, 150);
    return () => clearTimeout(t);
  }, [query]);
  const words = query.replace(/"/g, '').split(/\s+/).filter(Boolean);
  return (
    <div class="view text-view">
      <div class="search-bar">
        <input type="search" class="query" aria-label="Search text in images" placeholder='Words in the image (typos are forgiven; "quotes" for a phrase)' value={query} onInput={(e) => setQuery((e.currentTarget as HTMLInputElement).value)} />
      </div>
      <div class="split">
        <div class="results list">
          {error ? <ErrorState error={error} /> : hits === null ? <Loading what="text" /> : hits.length === 0 ? (
            <Empty>{query.trim() ? `No image contains “${query}”.` : 'Type words to find the images that contain them.'}</Empty>
          ) : (
            <ul class="text-hits" aria-label="Images containing the text">
              {hits.map((h) => (
                <li key={`${h.root}:${h.id}`}>
                  <button type="button" class="text-hit" onClick={() => setOpen(h)} aria-label={`${h.relPath}: ${h.lines.map((l) => l.text).join(' ')}`}>
                    {h.thumbnail ? <img src={h.thumbnail} alt="" /> : <span class="no-thumb" />}
                    <span class="hit-body">
                      <span class="path">{h.relPath}</span>
                      {h.lines.slice(0, 3).map((l, i) => <span key={i} class="line">{highlight(l.text, [...words, ...(h.terms ?? [])])}</span>)}
                    </span>
                  </button>
                  {h.text || h.lines.length ? <button type="button" class="link" onClick={() => host.copy(h.text ?? h.lines.map((l) => l.text).join('\n'))}>Copy text</button> : null}
                </li>
              ))}
            </ul>
          )}
        </div>
        {open && <Detail root={open.root} id={open.id} highlight={[...words, ...(open.terms ?? [])]} onSimilar={() => undefined} onClose={() => setOpen(null)} />}
      </div>
    </div>
  );
}
