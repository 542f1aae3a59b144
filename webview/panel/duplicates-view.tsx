/**
 * Duplicates: groups by category with side-by-side previews, resolution, size, the documents that use
 * each file, the suggested keeper and why; keep/trash per file, "resolve all exact copies", "not
 * duplicates", and undo. Files go to the OS trash, never deleted.
 */
import { useEffect, useState } from 'preact/hooks';
import type { DuplicateCategory, ResolutionResult, RootedDuplicateGroup } from '../../sidecar/protocol';
import { Empty, ErrorState, formatBytes, Loading, useAsync } from './components';
import { call, host, onNotification } from './rpc';

const CATEGORY: Record<DuplicateCategory, { title: string; note: string }> = {
  exact: { title: 'Exact copies', note: 'Byte-for-byte the same file.' },
  near: { title: 'Near-duplicates', note: 'The same picture resized, re-encoded or slightly edited.' },
  similar: { title: 'Similar shots', note: 'Taken moments apart; not copies, so nothing is suggested for the trash.' },
};

export function DuplicatesView() {
  const [tick, setTick] = useState(0);
  const report = useAsync(() => call('duplicates/list', {}), [tick]);
  const [last, setLast] = useState<Array<ResolutionResult & { root: string }>>([]);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  useEffect(() => onNotification('index/changed', () => setTick((t) => t + 1)), []);
  const reload = () => setTick((t) => t + 1);

  const resolve = async (g: RootedDuplicateGroup, keep: number[]) => {
    setBusy(true);
    try {
      const r = await call('duplicates/resolve', { root: g.root, groupKey: g.key, keep });
      setLast((l) => [{ ...r, root: g.root }, ...l]);
      setMessage(`Moved ${r.trashed.length} file${r.trashed.length === 1 ? '' : 's'} to the trash${r.rewritten.length ? `, updated links in ${r.rewritten.length} document(s)` : ''}.`);
    } catch (e) {
      setMessage(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
      reload();
    }
  };
  const undo = async (r: ResolutionResult & { root: string }) => {
    setBusy(true);
    try {
      const u = await call('duplicates/undo', { root: r.root, id: r.id });
      setLast((l) => l.filter((x) => x !== r));
      setMessage(u.error ? `Undo finished with problems: ${u.error}` : `Restored ${r.trashed.length} file${r.trashed.length === 1 ? '' : 's'}.`);
    } finally {
      setBusy(false);
      reload();
    }
  };

  if (report.loading && !report.value) return <div class="view"><Loading what="duplicates" /></div>;
  if (report.error || !report.value) return <div class="view"><ErrorState error={report.error} retry={report.reload} /></div>;
  const { groups, reclaimableBytes, notes } = report.value;
  const exact = groups.filter((g) => g.category === 'exact');
  return (
    <div class="view duplicates-view">
      <div class="toolbar">
        <strong class="reclaim">{formatBytes(reclaimableBytes)} reclaimable</strong>
        <button
          type="button"
          disabled={busy || exact.length === 0}
          onClick={async () => {
            if (!(await host.confirm(`Resolve ${exact.length} groups of exact copies?`, 'Each group keeps its suggested file; the others go to the trash and links are updated. You can undo each.', 'Resolve All'))) return;
            for (const g of exact) await resolve(g, [g.keeperId]);
          }}
        >
          Resolve all exact copies ({exact.length})
        </button>
        {last[0] && <button type="button" disabled={busy} onClick={() => void undo(last[0])}>Undo last</button>}
        <span class="status" role="status" aria-live="polite">{message}</span>
      </div>
      {notes.length > 0 && <div class="warnings">{notes.join(' ')}</div>}
      {groups.length === 0 ? <Empty>No duplicates. Every image is one of a kind.</Empty> : null}
      {(['exact', 'near', 'similar'] as const).map((cat) => {
        const list = groups.filter((g) => g.category === cat);
        if (list.length === 0) return null;
        return (
          <section key={cat} aria-label={CATEGORY[cat].title}>
            <h2>{CATEGORY[cat].title} <span class="counts">({list.length})</span></h2>
            <p class="hint">{CATEGORY[cat].note}</p>
            {list.map((g) => <Group key={g.key} g={g} busy={busy} onResolve={resolve} onDismiss={async () => { await call('duplicates/dismiss', { root: g.root, groupKey: g.key }); reload(); }} />)}
          </section>
        );
      })}
    </div>
  );
}

function Group({ g, busy, onResolve, onDismiss }: { g: RootedDuplicateGroup; busy: boolean; onResolve: (g: RootedDuplicateGroup, keep: number[]) => Promise<void>; onDismiss: () => void }) {
  const [keep, setKeep] = useState<Set<number>>(new Set([g.keeperId]));
  const toTrash = g.members.filter((m) => !keep.has(m.id));
  return (
    <div class="dup-group" data-group={g.key}>
      <div class="dup-members">
        {g.members.map((m) => (
          <figure key={m.id} class={keep.has(m.id) ? 'member keep' : 'member trash'}>
            {m.thumbnail ? <img src={m.thumbnail} alt={m.relPath} /> : <div class="no-thumb">{m.relPath}</div>}
            <figcaption>
              <span class="path" title={m.relPath}>{m.relPath}</span>
              <span class="counts">{m.width && m.height ? `${m.width}×${m.height} · ` : ''}{m.format?.toUpperCase()} · {formatBytes(m.size)}</span>
              {m.referencedBy.length > 0 && <span class="counts" title={m.referencedBy.join('\n')}>used by {m.referencedBy.join(', ')}</span>}
              {m.id === g.keeperId && <span class="chip small">suggested: {g.keeperReason}</span>}
              <label class="toggle">
                <input
                  type="checkbox"
                  checked={keep.has(m.id)}
                  onChange={() => setKeep((s) => { const n = new Set(s); n.has(m.id) ? n.delete(m.id) : n.add(m.id); return n; })}
                />{' '}
                Keep
              </label>
            </figcaption>
          </figure>
        ))}
      </div>
      <div class="actions">
        <button type="button" disabled={busy || keep.size === 0 || toTrash.length === 0} onClick={() => void onResolve(g, [...keep])}>
          Keep {keep.size}, move {toTrash.length} to trash
        </button>
        <button type="button" class="secondary" disabled={busy} onClick={onDismiss}>Not duplicates</button>
        <span class="counts">{formatBytes(toTrash.reduce((n, m) => n + m.size, 0))} freed</span>
      </div>
    </div>
  );
}
