/** How Loupe's facts read in the UI: sizes, match reasons, the status bar text. Pure, unit-tested. */
import type { RootedSearchHit, RootStatus } from '../sidecar/protocol';
import { formatBytes } from '../sidecar/util/format-bytes';

export { formatBytes };


export function describeReasons(hit: RootedSearchHit): string {
  const reasons = hit.reasons.map((r) => r.text).filter(Boolean);
  const score = `${Math.round(hit.score * 100)}%`;
  return reasons.length > 0 ? `${score} · ${reasons.slice(0, 3).join(' · ')}` : score;
}

export function summariseStatus(roots: readonly RootStatus[]): { text: string; tooltip: string; busy: boolean } {
  const images = roots.reduce((n, r) => n + r.images, 0);
  const errors = roots.reduce((n, r) => n + r.errors, 0);
  const running = roots.filter((r) => r.state !== 'idle');
  const fmt = (n: number) => n.toLocaleString('en-US');
  if (running.length > 0) {
    const done = running.reduce((n, r) => n + (r.progress?.done ?? 0), 0);
    const total = running.reduce((n, r) => n + (r.progress?.total ?? 0), 0);
    const phase = running.some((r) => r.state === 'scanning' || r.state === 'starting') && total === 0 ? 'scanning' : `${fmt(done)}/${fmt(total)}`;
    return { text: `$(sync~spin) Loupe ${phase}`, tooltip: `Loupe is indexing images (${phase}). Click for details.`, busy: true };
  }
  const errorText = errors > 0 ? ` $(warning) ${fmt(errors)}` : '';
  return {
    text: `$(file-media) ${fmt(images)}${errorText}`,
    tooltip: `Loupe: ${fmt(images)} images indexed${errors > 0 ? `, ${fmt(errors)} could not be read` : ''}. Click for details.`,
    busy: false,
  };
}


/**
 * Warnings worth showing next to results. "Semantic search is off" comes with every query until the
 * model is downloaded; the palette and gallery leave it out (Show Status and Enable Semantic Search
 * say it once) instead of repeating it on every keystroke.
 */
export function resultWarnings(warnings: readonly string[]): string[] {
  return warnings.filter((w) => !/^semantic search is (off|getting ready)/i.test(w));
}
