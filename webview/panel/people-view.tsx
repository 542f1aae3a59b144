/**
 * People: named people and unnamed groups as face tiles with counts; open one to see its faces, name
 * it, split faces off, or say "not this person"; drag a tile onto another to merge; a review queue for
 * suggestions that is quick with the keyboard (A accept, R reject, S skip).
 */
import { useEffect, useState } from 'preact/hooks';
import type { FaceInfo, PersonSummary, Suggestion } from '../../sidecar/protocol';
import { Empty, ErrorState, Loading, useAsync } from './components';
import { call, host, onNotification } from './rpc';

type RootedPerson = PersonSummary & { root: string };
type RootedSuggestion = Suggestion & { root: string };
const crops = new Map<string, Promise<string>>();

function FaceImage({ root, face, size = 96 }: { root: string; face: FaceInfo; size?: number }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    const key = `${root}\n${face.id}`;
    if (!crops.has(key)) crops.set(key, call('faces/crop', { root, faceId: face.id }).then((r) => r.thumbnail));
    let live = true;
    crops.get(key)!.then((s) => live && setSrc(s), () => undefined);
    return () => {
      live = false;
    };
  }, [root, face.id]);
  return src ? <img class="face" src={src} alt="" width={size} height={size} /> : <span class="face placeholder" style={{ width: `${size}px`, height: `${size}px` }} />;
}

export function PeopleView() {
  const [tick, setTick] = useState(0);
  const list = useAsync(() => call('people/list', { includeClusters: true }), [tick]);
  // Suggestions of every workspace folder with people, each remembering its folder.
  const roots = [...new Set((list.value?.people ?? []).map((p) => p.root))];
  const suggestions = useAsync(
    async (): Promise<RootedSuggestion[]> =>
      (
        await Promise.all(
          roots.map((root) =>
            call('faces/suggestions', { root, limit: 200 }).then(
              (r) => r.suggestions.map((s) => ({ ...s, root })),
              () => [],
            ),
          ),
        )
      ).flat(),
    [tick, roots.join('\n')],
  );
  const [open, setOpen] = useState<RootedPerson | null>(null);
  const [reviewing, setReviewing] = useState(false);
  const [dragged, setDragged] = useState<RootedPerson | null>(null);
  useEffect(() => onNotification('index/changed', () => setTick((t) => t + 1)), []);
  const reload = () => setTick((t) => t + 1);

  if (list.loading && !list.value) return <div class="view"><Loading what="people" /></div>;
  if (list.error) return <div class="view"><ErrorState error={list.error} retry={list.reload} /></div>;
  const people = list.value?.people ?? [];
  const pending = suggestions.value ?? [];
  if (reviewing) return <ReviewQueue queue={pending} onDone={() => (setReviewing(false), reload())} />;
  if (open) return <PersonPage person={open} others={people.filter((p) => p.id !== open.id && p.root === open.root && p.name)} onBack={() => (setOpen(null), reload())} />;
  if (people.length === 0) return <div class="view"><Empty>No faces found yet. People appear here once photos with faces are indexed (and face detection is on).</Empty></div>;
  const named = people.filter((p) => p.kind === 'person');
  const clusters = people.filter((p) => p.kind === 'cluster');
  const tile = (p: RootedPerson) => (
    <li key={`${p.root}:${p.id}`}>
      <button
        type="button"
        class="person-tile"
        draggable
        aria-label={`${p.name ?? 'Unnamed person'}, ${p.photoCount} photos${p.suggestedCount ? `, ${p.suggestedCount} suggestions` : ''}`}
        onClick={() => setOpen(p)}
        onDragStart={() => setDragged(p)}
        onDragOver={(e) => e.preventDefault()}
        onDrop={async (e) => {
          e.preventDefault();
          if (!dragged || dragged.id === p.id || dragged.root !== p.root) return;
          const from = dragged.name ?? 'this unnamed person';
          if (!(await host.confirm(`Merge ${from} into ${p.name ?? 'this person'}?`, 'All their faces become one person.', 'Merge'))) return;
          await call('people/merge', { root: p.root, sourceIds: [dragged.id], targetId: p.id });
          setDragged(null);
          reload();
        }}
      >
        {p.cover ? <FaceImage root={p.root} face={p.cover} /> : <span class="face placeholder" />}
        <span class="name">{p.name ?? 'Unnamed'}</span>
        <span class="counts">{p.photoCount} photo{p.photoCount === 1 ? '' : 's'}{p.suggestedCount ? ` · ${p.suggestedCount} to review` : ''}</span>
      </button>
    </li>
  );
  return (
    <div class="view people-view">
      <div class="toolbar">
        <button type="button" disabled={pending.length === 0} onClick={() => setReviewing(true)}>
          Review suggestions{pending.length ? ` (${pending.length})` : ''}
        </button>
        <span class="hint">Drag a person onto another to merge them.</span>
      </div>
      {named.length > 0 && (
        <section>
          <h2>People</h2>
          <ul class="tiles" aria-label="Named people">{named.map(tile)}</ul>
        </section>
      )}
      {clusters.length > 0 && (
        <section>
          <h2>Not named yet</h2>
          <ul class="tiles" aria-label="Unnamed groups of faces">{clusters.map(tile)}</ul>
        </section>
      )}
    </div>
  );
}

function PersonPage({ person, others, onBack }: { person: RootedPerson; others: RootedPerson[]; onBack: () => void }) {
  const [tick, setTick] = useState(0);
  const details = useAsync(() => call('people/get', { root: person.root, personId: person.id }), [tick]);
  const [name, setName] = useState(person.name ?? '');
  const [picked, setPicked] = useState<Set<number>>(new Set());
  const reload = () => setTick((t) => t + 1);
  if (details.loading && !details.value) return <div class="view"><Loading what="faces" /></div>;
  if (details.error || !details.value) return <div class="view"><ErrorState error={details.error} retry={details.reload} /></div>;
  const d = details.value;
  return (
    <div class="view person-page">
      <div class="toolbar">
        <button type="button" onClick={onBack}>← People</button>
        <form
          class="name-form"
          onSubmit={async (e) => {
            e.preventDefault();
            if (!name.trim()) return;
            await call('people/name', { root: person.root, personId: person.id, name: name.trim() });
            reload();
          }}
        >
          <label>Name <input type="text" value={name} aria-label="Person's name" onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} /></label>
          <button type="submit">Save name</button>
        </form>
        <button
          type="button"
          disabled={picked.size === 0}
          onClick={async () => {
            await call('people/split', { root: person.root, personId: person.id, faceIds: [...picked] });
            setPicked(new Set());
            reload();
          }}
        >
          Split {picked.size || ''} into a new person
        </button>
      </div>
      <p class="summary">{d.confirmedCount} confirmed · {d.suggestedCount} suggested · {d.photoCount} photos</p>
      <ul class="tiles faces" aria-label={`Faces of ${d.name ?? 'this person'}`}>
        {d.faces.map((f) => (
          <li key={f.id} class={`face-item ${f.status}`}>
            <label class="pick">
              <input type="checkbox" checked={picked.has(f.id)} onChange={() => setPicked((s) => { const n = new Set(s); n.has(f.id) ? n.delete(f.id) : n.add(f.id); return n; })} aria-label={`Select face in ${f.relPath}`} />
              <FaceImage root={person.root} face={f} />
            </label>
            <span class="counts">{f.status}{f.confidence !== null && f.status === 'suggested' ? ` ${Math.round(f.confidence * 100)}%` : ''}</span>
            <button type="button" class="link" onClick={async () => { await call('faces/reject', { root: person.root, faceId: f.id, personId: person.id }); reload(); }}>Not {d.name ?? 'this person'}</button>
            {others.length > 0 && (
              <select
                aria-label={`Move the face in ${f.relPath} to another person`}
                value=""
                onChange={async (e) => {
                  const target = Number((e.currentTarget as HTMLSelectElement).value);
                  if (!target) return;
                  await call('faces/assign', { root: person.root, faceId: f.id, personId: target });
                  reload();
                }}
              >
                <option value="">Move to…</option>
                {others.map((o) => <option key={o.id} value={o.id}>{o.name}</option>)}
              </select>
            )}
          </li>
        ))}
      </ul>
    </div>
  );
}

function ReviewQueue({ queue: offered, onDone }: { queue: RootedSuggestion[]; onDone: () => void }) {
  // The queue is fixed when review starts: the suggestion list reloads after every decision (index/changed),
  // and a list that shrank under the cursor would skip a face and change the "n of m" count mid-review.
  const [queue] = useState(offered);
  const [index, setIndex] = useState(0);
  const [done, setDone] = useState({ accepted: 0, rejected: 0 });
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const s = queue[index];
  const act = async (what: 'accept' | 'reject' | 'skip') => {
    if (!s || busy) return; // one decision at a time: a key pressed twice must not answer for the next face
    setBusy(true);
    try {
      await decide(what);
      setProblem(null);
    } catch (e) {
      setProblem(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
    setIndex((i) => i + 1);
  };
  const decide = async (what: 'accept' | 'reject' | 'skip') => {
    if (what === 'accept') {
      await call('faces/assign', { root: s.root, faceId: s.face.id, personId: s.personId });
      setDone((d) => ({ ...d, accepted: d.accepted + 1 }));
    } else if (what === 'reject') {
      await call('faces/reject', { root: s.root, faceId: s.face.id, personId: s.personId });
      setDone((d) => ({ ...d, rejected: d.rejected + 1 }));
    }
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).tagName === 'INPUT') return;
      const k = e.key.toLowerCase();
      if (k === 'a') void act('accept');
      else if (k === 'r') void act('reject');
      else if (k === 's') void act('skip');
      else if (k === 'escape') onDone();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });
  if (!s) {
    return (
      <div class="view review">
        <Empty>Review done: {done.accepted} accepted, {done.rejected} rejected.</Empty>
        <button type="button" onClick={onDone}>Back to people</button>
      </div>
    );
  }
  return (
    <div class="view review" aria-live="polite">
      <div class="toolbar">
        <button type="button" onClick={onDone}>← People</button>
        <span class="hint">{index + 1} of {queue.length} · A accept · R reject · S skip · Esc done</span>
      </div>
      <div class="review-card">
        <FaceImage root={s.root} face={s.face} size={200} />
        <p>Is this <strong>{s.personName ?? 'this person'}</strong>? <span class="counts">({Math.round(s.confidence * 100)}%)</span></p>
        <p class="counts">{s.face.relPath}</p>
        {problem && <p class="error-text" role="alert">{problem}</p>}
        <div class="actions">
          <button type="button" onClick={() => void act('accept')}>Yes (A)</button>
          <button type="button" onClick={() => void act('reject')}>No (R)</button>
          <button type="button" onClick={() => void act('skip')}>Skip (S)</button>
        </div>
      </div>
    </div>
  );
}
