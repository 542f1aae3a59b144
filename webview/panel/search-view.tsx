/** Search: one box for everything (with filter autocomplete), a virtual result grid with scores and reasons, a detail pane. */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { RootedSearchHit, SearchResponse } from '../../sidecar/protocol';
import { Empty, ErrorState, Loading, VirtualGrid } from './components';
import { Detail } from './detail';
import { call, host, onNotification } from './rpc';

const PAGE = 200;
const FILTERS = ['person:', 'folder:', 'tag:', 'date:', 'has:text', 'has:faces', 'format:', 'camera:'];

/** Autocomplete for the word being typed: filter names, and person names after `person:`. */
export function suggestionsFor(query: string, people: string[]): string[] {
  const word = query.split(/\s+/).pop() ?? '';
  if (word.startsWith('person:')) {
    const part = word.slice(7).toLowerCase();
    return people.filter((p) => p.toLowerCase().startsWith(part)).slice(0, 8).map((p) => `person:${/\s/.test(p) ? `"${p}"` : p}`);
  }
  if (word.length === 0) return [];
  return FILTERS.filter((f) => f.startsWith(word.toLowerCase()) && f !== word);
}

export function SearchView({ initialQuery, onQueryChange }: { initialQuery: string; onQueryChange: (q: string) => void }) {
  const [query, setQuery] = useState(initialQuery);
  const [result, setResult] = useState<SearchResponse | null>(null);
  const [items, setItems] = useState<RootedSearchHit[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<number | null>(null);
  const [similarTo, setSimilarTo] = useState<RootedSearchHit | null>(null);
  const [people, setPeople] = useState<string[]>([]);
  const [refresh, setRefresh] = useState(0);
  const [stale, setStale] = useState(false);
  const seq = useRef(0);
  const deep = useRef(false);
  deep.current = items.length > PAGE;

  useEffect(() => setQuery(initialQuery), [initialQuery]);
  useEffect(() => {
    call('people/list', {}).then((r) => setPeople([...new Set(r.people.map((p) => p.name).filter((n): n is string => !!n))]), () => undefined);
    // New or changed images: refresh in place, unless the user has paged deep into the results (then offer it).
    return onNotification('index/changed', () => (deep.current ? setStale(true) : setRefresh((n) => n + 1)));
  }, []);
  useEffect(() => {
    const mySeq = ++seq.current;
    setBusy(true);
    setStale(false);
    const t = setTimeout(() => {
      const req = similarTo ? call('similar', { root: similarTo.root, id: similarTo.id, limit: PAGE }) : call('search', { query, limit: PAGE });
      req.then(
        (r) => {
          if (mySeq !== seq.current) return;
          setResult(r);
          setItems(r.items);
          setError(null);
          setBusy(false);
        },
        (e: unknown) => {
          if (mySeq !== seq.current) return;
          setError(e);
          setBusy(false);
        },
      );
    }, 150);
    return () => clearTimeout(t);
  }, [query, similarTo, refresh]);

  const more = () => {
    if (!result?.nextCursor || similarTo) return;
    const cursor = result.nextCursor;
    setResult({ ...result, nextCursor: null });
    call('search', { query, limit: PAGE, cursor }).then((r) => {
      setResult(r);
      setItems((old) => old.concat(r.items));
    }, setError);
  };
  const suggestions = useMemo(() => suggestionsFor(query, people), [query, people]);
  const words = query.split(/\s+/).filter((w) => w && !w.includes(':'));
  const shown = selected !== null ? items[selected] : null;

  return (
    <div class="view search-view">
      <div class="search-bar">
        <input
          type="search"
          class="query"
          aria-label="Search images"
          placeholder="Describe an image, or type words in it, a tag, person:, folder:, date:…"
          value={query}
          list="filter-suggestions"
          onInput={(e) => {
            const q = (e.currentTarget as HTMLInputElement).value;
            setSimilarTo(null);
            setSelected(null);
            setQuery(q);
            onQueryChange(q);
          }}
        />
        <datalist id="filter-suggestions">{suggestions.map((s) => <option key={s} value={query.replace(/\S*$/, s)} />)}</datalist>
        {similarTo && (
          <span class="similar-note">
            Like {similarTo.relPath.split('/').pop()} <button type="button" class="link" onClick={() => setSimilarTo(null)}>back to search</button>
          </span>
        )}
        {stale && <button type="button" class="link" onClick={() => setRefresh((n) => n + 1)}>Library changed · Refresh</button>}
        <span class="count" role="status" aria-live="polite">{busy ? 'Searching…' : result ? `${result.total.toLocaleString()} image${result.total === 1 ? '' : 's'}` : ''}</span>
      </div>
      {result?.warnings.length ? <div class="warnings">{result.warnings.join(' · ')}</div> : null}
      <div class="split">
        <div class="results">
          {error ? <ErrorState error={error} retry={() => setRefresh((n) => n + 1)} /> : !result ? <Loading what="images" /> : items.length === 0 ? (
            <Empty>{query.trim() ? `Nothing matches “${query}”.` : 'No images indexed yet. Indexing runs in the background.'}</Empty>
          ) : (
            <VirtualGrid
              items={items}
              label="Search results"
              selected={selected ?? undefined}
              itemLabel={(h) => `${h.relPath}, ${Math.round(h.score * 100)}%${h.reasons.length ? `, ${h.reasons.map((r) => r.text).join(', ')}` : ''}`}
              onOpen={(_h, i) => setSelected(i)}
              onDelete={async (h) => {
                if (!(await host.confirm(`Move ${h.relPath.split('/').pop()} to the trash?`, 'You can undo this, or restore it from the system trash.', 'Move to Trash'))) return;
                await call('files/trash', { root: h.root, ids: [h.id] });
                setItems((old) => old.filter((x) => x !== h));
                setSelected(null);
              }}
              onNearEnd={more}
              render={(h) => (
                <>
                  {h.thumbnail ? <img src={h.thumbnail} alt="" loading="lazy" /> : <span class="no-thumb">{h.relPath.split('/').pop()}</span>}
                  <span class="score">{Math.round(h.score * 100)}%</span>
                  <span class="why">{h.reasons.slice(0, 2).map((r) => <span key={r.text} class="chip small">{r.text}</span>)}</span>
                </>
              )}
            />
          )}
        </div>
        {shown && (
          <Detail
            root={shown.root}
            id={shown.id}
            highlight={words}
            onSimilar={() => {
              setSimilarTo(shown);
              setSelected(null);
            }}
            onClose={() => setSelected(null)}
          />
        )}
      </div>
    </div>
  );
}
