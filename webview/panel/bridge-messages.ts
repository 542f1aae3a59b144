/**
 * The Loupe panel's messages to and from its host (the extension, or the component-test harness).
 * The panel reaches the sidecar only through `rpc` messages, for the methods the host allows.
 */

export type PanelView = 'search' | 'people' | 'duplicates' | 'text';

export type PanelToHost =
  | { type: 'ready' }
  | { type: 'rpc'; id: number; method: string; params: unknown }
  | { type: 'open'; path: string }
  | { type: 'reveal'; path: string }
  | { type: 'copy'; text: string }
  /** Open the editor's "Optimise Image" flow for this file. */
  | { type: 'optimise'; path: string }
  /** Ask the user to confirm (a modal in VS Code); answered with `confirmed`. */
  | { type: 'confirm'; id: number; message: string; detail: string; action: string };

export type HostToPanel =
  | { type: 'rpc-result'; id: number; result?: unknown; error?: { code: number; message: string } }
  | { type: 'notification'; method: string; params: unknown }
  | { type: 'confirmed'; id: number; ok: boolean }
  | { type: 'show'; view: PanelView; query?: string };

/** Methods a panel may call: reads and the user's own edits, never lifecycle or index control. */
export const PANEL_METHODS: readonly string[] = [
  'index/status',
  'index/errors',
  'search',
  'similar',
  'asset/get',
  'duplicates/list',
  'duplicates/resolve',
  'duplicates/undo',
  'duplicates/dismiss',
  'duplicates/history',
  'files/trash',
  'files/restore',
  'people/list',
  'people/get',
  'people/name',
  'people/merge',
  'people/split',
  'faces/assign',
  'faces/reject',
  'faces/suggestions',
  'faces/crop',
  'ocr/search',
];

/**
 * Makes sidecar results displayable in a webview: every `thumbnail` path becomes a URL the webview
 * may load, and an `absPath` gains a `src` URL for the full image.
 */
export function rewriteResources(value: unknown, toUrl: (path: string) => string): unknown {
  if (Array.isArray(value)) return value.map((v) => rewriteResources(v, toUrl));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k === 'thumbnail' && typeof v === 'string') out[k] = toUrl(v);
    else out[k] = rewriteResources(v, toUrl);
    if (k === 'absPath' && typeof v === 'string') out.src = toUrl(v);
  }
  return out;
}
