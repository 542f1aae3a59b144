/**
 * The Loupe panel: Search, People, Duplicates and Text in one webview. It talks to the sidecar only
 * through its host (postMessage bridge, see rpc.ts), is themed by VS Code's CSS variables, and is
 * operable from the keyboard (tabs with arrow keys; grids with arrows, Enter, Delete).
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import type { RootStatus } from '../../sidecar/protocol';
import type { PanelView } from './bridge-messages';
import { DuplicatesView } from './duplicates-view';
import { PeopleView } from './people-view';
import { call, onNotification, onShow, ready, state } from './rpc';
import { SearchView } from './search-view';
import { TextView } from './text-view';

const TABS: Array<{ id: PanelView; label: string }> = [
  { id: 'search', label: 'Search' },
  { id: 'people', label: 'People' },
  { id: 'duplicates', label: 'Duplicates' },
  { id: 'text', label: 'Text' },
];

interface Saved {
  view: PanelView;
  query: string;
}

function IndexingBar() {
  const [roots, setRoots] = useState<RootStatus[]>([]);
  useEffect(() => {
    let timer: number | undefined;
    const poll = () =>
      call('index/status', {}).then(
        (r) => {
          setRoots(r.roots);
          if (r.roots.some((x) => x.state !== 'idle')) timer = window.setTimeout(poll, 1000);
        },
        () => (timer = window.setTimeout(poll, 3000)),
      );
    void poll();
    const off = onNotification('index/changed', () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(poll, 300);
    });
    return () => {
      off();
      window.clearTimeout(timer);
    };
  }, []);
  const busy = roots.filter((r) => r.state !== 'idle');
  if (busy.length === 0) return null;
  const done = busy.reduce((n, r) => n + (r.progress?.done ?? 0), 0);
  const total = busy.reduce((n, r) => n + (r.progress?.total ?? 0), 0);
  return (
    <div class="indexing" role="status" aria-live="polite">
      Indexing {total ? `${done.toLocaleString()} of ${total.toLocaleString()}` : '…'}
      {total ? <progress max={total} value={done} /> : null}
    </div>
  );
}

function App() {
  const saved = state.get<Saved>();
  const [view, setView] = useState<PanelView>(saved?.view ?? 'search');
  const [query, setQuery] = useState(saved?.query ?? '');
  useEffect(() => state.set({ view, query } satisfies Saved), [view, query]);
  useEffect(
    () =>
      onShow((v, q) => {
        setView(v);
        if (q !== undefined) setQuery(q);
      }),
    [],
  );
  const onTabKey = (e: KeyboardEvent) => {
    const i = TABS.findIndex((t) => t.id === view);
    const next = e.key === 'ArrowRight' ? (i + 1) % TABS.length : e.key === 'ArrowLeft' ? (i + TABS.length - 1) % TABS.length : -1;
    if (next >= 0) {
      e.preventDefault();
      setView(TABS[next].id);
      (document.getElementById(`tab-${TABS[next].id}`) as HTMLElement | null)?.focus();
    }
  };
  return (
    <div class="app">
      <nav class="tabs" role="tablist" aria-label="Loupe views" onKeyDown={onTabKey}>
        {TABS.map((t) => (
          <button key={t.id} id={`tab-${t.id}`} type="button" role="tab" aria-selected={view === t.id} aria-controls="view" tabIndex={view === t.id ? 0 : -1} class={view === t.id ? 'tab active' : 'tab'} onClick={() => setView(t.id)}>
            {t.label}
          </button>
        ))}
      </nav>
      <IndexingBar />
      <div id="view" class="view-host" role="tabpanel" aria-labelledby={`tab-${view}`}>
        {view === 'search' && <SearchView initialQuery={query} onQueryChange={setQuery} />}
        {view === 'people' && <PeopleView />}
        {view === 'duplicates' && <DuplicatesView />}
        {view === 'text' && <TextView />}
      </div>
    </div>
  );
}

render(<App />, document.getElementById('root')!);
ready();
