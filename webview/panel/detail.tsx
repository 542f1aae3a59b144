/** The detail pane: large preview with OCR line boxes and faces drawn on it, metadata, tags, text. */
import { useState } from 'preact/hooks';
import type { AssetDetails } from '../../sidecar/protocol';
import { Chip, ErrorState, formatBytes, Loading, useAsync } from './components';
import { call, host } from './rpc';

export type ShownAsset = AssetDetails & { src?: string };

const percent = (score: number) => `${Math.round(score * 100)}%`;

/** An OCR box is [x, y, w, h] or a quadrilateral [x1, y1, ... x4, y4], in original-image pixels. */
export function boxPoints(box: number[]): string {
  if (box.length >= 8) return [0, 2, 4, 6].map((i) => `${box[i]},${box[i + 1]}`).join(' ');
  const [x, y, w, h] = box;
  return `${x},${y} ${x + w},${y} ${x + w},${y + h} ${x},${y + h}`;
}

/** The full image, or the thumbnail if the original cannot be shown here (a format the webview cannot decode). */
function PreviewImage({ src, fallback, alt }: { src: string; fallback: string | null; alt: string }) {
  const [failed, setFailed] = useState(false);
  if (failed && !fallback) return <div class="no-preview">No preview</div>;
  return <img src={failed && fallback ? fallback : src} alt={alt} onError={() => setFailed(true)} />;
}

export function Detail({ root, id, highlight, onSimilar, onClose }: { root: string; id: number; highlight: string[]; onSimilar: () => void; onClose: () => void }) {
  const { value, error, loading, reload } = useAsync(() => call('asset/get', { root, id }) as Promise<ShownAsset>, [root, id]);
  const [showBoxes, setShowBoxes] = useState(true);
  if (loading && !value) return <aside class="detail"><Loading what="details" /></aside>;
  if (error || !value) return <aside class="detail"><ErrorState error={error} retry={reload} /></aside>;
  const a = value;
  const w = a.width ?? 1;
  const h = a.height ?? 1;
  const words = highlight.map((x) => x.toLowerCase()).filter((x) => x.length > 1);
  const lineMatches = (text: string) => words.some((wd) => text.toLowerCase().includes(wd));
  const name = a.relPath.split('/').pop() ?? a.relPath;
  // Likely tags as chips; the classifier's long tail ("slug" on a falcon at 10%) only as a muted line.
  const likely = a.tags.filter((t) => t.likely);
  const unlikely = a.tags.filter((t) => !t.likely);
  return (
    <aside class="detail" aria-label={`Details of ${name}`}>
      <div class="detail-head">
        <h2 title={a.relPath}>{name}</h2>
        <button type="button" class="icon" aria-label="Close details" onClick={onClose}>✕</button>
      </div>
      <div class="preview">
        {/* keyed: a new element per image, so the previous picture never shows while the next one loads */}
        {a.src ? <PreviewImage key={a.src} src={a.src} fallback={a.thumbnail} alt={a.ocr?.text ? a.ocr.text.slice(0, 120) : name} /> : <div class="no-preview">No preview</div>}
        {showBoxes && (a.ocr?.lines.length || a.faces.length) ? (
          <svg class="overlay" viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="xMidYMid meet" aria-hidden="true">
            {a.ocr?.lines.map((l, i) => <polygon key={`l${i}`} class={lineMatches(l.text) ? 'ocr-box match' : 'ocr-box'} points={boxPoints(l.box)} />)}
            {a.faces.map((f) => <rect key={`f${f.id}`} class="face-box" x={f.box.x} y={f.box.y} width={f.box.w} height={f.box.h} />)}
          </svg>
        ) : null}
      </div>
      <div class="actions">
        <button type="button" onClick={() => host.open(a.absPath)}>Open</button>
        <button type="button" onClick={onSimilar}>More like this</button>
        <button type="button" onClick={() => host.reveal(a.absPath)}>Reveal</button>
        <button type="button" onClick={() => host.optimise(a.absPath)}>Optimise…</button>
        {a.ocr?.text ? <button type="button" onClick={() => host.copy(a.ocr!.text)}>Copy text</button> : null}
        {a.ocr?.lines.length || a.faces.length ? (
          <label class="toggle"><input type="checkbox" checked={showBoxes} onChange={(e) => setShowBoxes((e.currentTarget as HTMLInputElement).checked)} /> Boxes</label>
        ) : null}
      </div>
      <dl class="facts">
        <dt>Path</dt><dd>{a.relPath}</dd>
        <dt>Size</dt><dd>{a.width && a.height ? `${a.width}×${a.height} · ` : ''}{a.format?.toUpperCase() ?? ''} · {formatBytes(a.size)}</dd>
        {a.takenAt ? <><dt>Taken</dt><dd>{a.takenAt.replace('T', ' ').slice(0, 16)}</dd></> : null}
        {a.camera ? <><dt>Camera</dt><dd>{a.camera}</dd></> : null}
        {a.error ? <><dt>Problem</dt><dd class="error-text">{a.error.message}</dd></> : null}
      </dl>
      {a.tags.length > 0 && (
        <section>
          <h3>Tags</h3>
          <div class="chips">{likely.map((t) => <Chip key={t.name} title={percent(t.score)}>{t.name}</Chip>)}</div>
          {unlikely.length > 0 && (
            <p class="hint less-likely">{likely.length ? 'Less likely' : 'Possibly'}: {unlikely.map((t) => `${t.name} ${percent(t.score)}`).join(', ')}</p>
          )}
        </section>
      )}
      {a.faces.length > 0 && (
        <section>
          <h3>People</h3>
          <div class="chips">{a.faces.map((f) => <Chip key={f.id} title={f.status}>{f.personName ?? 'Unnamed'}</Chip>)}</div>
        </section>
      )}
      {a.ocr && a.ocr.lines.length > 0 && (
        <section>
          <h3>Text</h3>
          <ol class="ocr-lines">
            {a.ocr.lines.map((l, i) => <li key={i} class={lineMatches(l.text) ? 'match' : ''}>{l.text}</li>)}
          </ol>
        </section>
      )}
    </aside>
  );
}
