/**
 * Runs the Loupe panel (dist/panel.js), and the gallery sidebar, in headless Chromium against a real sidecar, without VS Code:
 * a small HTTP server serves the panel page, the files it may show, and a stand-in for the VS Code
 * webview API whose messages are bridged (playwright binding) to the sidecar over its WebSocket.
 * VS Code's theme variables are provided for a light and a dark theme.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { MessageConnection } from 'vscode-jsonrpc/node';
import { PANEL_METHODS, rewriteResources, type HostToPanel, type PanelToHost } from '../../webview/panel/bridge-messages';
import { composeQuery, GALLERY_BODY, GALLERY_PAGE, galleryItems, type ToHost, type ToWebview } from '../../webview/gallery/messages';
import { SearchRequest } from '../../sidecar/protocol';
import { CHROMIUM, REPO } from './code-server';

export type Theme = 'light' | 'dark';

// The handful of VS Code theme variables the panel uses, with the values of the default themes.
const THEMES: Record<Theme, Record<string, string>> = {
  light: {
    foreground: '#3b3b3b', 'editor-background': '#ffffff', descriptionForeground: '#717171', focusBorder: '#005fb8',
    'button-background': '#005fb8', 'button-foreground': '#ffffff', 'button-hoverBackground': '#0258a8', 'button-secondaryBackground': '#e5e5e5', 'button-secondaryForeground': '#3b3b3b',
    'input-background': '#ffffff', 'input-foreground': '#3b3b3b', 'input-border': '#cecece', 'input-placeholderForeground': '#767676',
    'badge-background': '#cccccc', 'badge-foreground': '#3b3b3b', 'editorWidget-background': '#f8f8f8', 'editorWidget-border': '#c8c8c8',
    'panel-border': '#e5e5e5', 'list-hoverBackground': '#f2f2f2', 'list-activeSelectionBackground': '#e8e8e8', 'textLink-foreground': '#005fb8',
    'editorInfo-foreground': '#1a85ff', 'editorWarning-foreground': '#bf8803', 'errorForeground': '#f85149', 'editor-findMatchHighlightBackground': '#ea5c0055',
    'progressBar-background': '#005fb8', 'icon-foreground': '#3b3b3b', 'toolbar-hoverBackground': '#b8b8b850', 'panelTitle-activeBorder': '#005fb8', 'charts-green': '#388a34',
    'font-family': 'system-ui, sans-serif', 'font-size': '13px', 'editor-font-family': 'monospace',
  },
  dark: {
    foreground: '#cccccc', 'editor-background': '#1f1f1f', descriptionForeground: '#9d9d9d', focusBorder: '#0078d4',
    'button-background': '#0078d4', 'button-foreground': '#ffffff', 'button-hoverBackground': '#026ec1', 'button-secondaryBackground': '#313131', 'button-secondaryForeground': '#cccccc',
    'input-background': '#313131', 'input-foreground': '#cccccc', 'input-border': '#3c3c3c', 'input-placeholderForeground': '#989898',
    'badge-background': '#616161', 'badge-foreground': '#f8f8f8', 'editorWidget-background': '#202020', 'editorWidget-border': '#454545',
    'panel-border': '#2b2b2b', 'list-hoverBackground': '#2a2d2e', 'list-activeSelectionBackground': '#04395e', 'textLink-foreground': '#4daafc',
    'editorInfo-foreground': '#3794ff', 'editorWarning-foreground': '#cca700', 'errorForeground': '#f85149', 'editor-findMatchHighlightBackground': '#ea5c0055',
    'progressBar-background': '#0078d4', 'icon-foreground': '#cccccc', 'toolbar-hoverBackground': '#5a5d5e50', 'panelTitle-activeBorder': '#0078d4', 'charts-green': '#89d185',
    'font-family': 'system-ui, sans-serif', 'font-size': '13px', 'editor-font-family': 'monospace',
  },
};

function themeCss(theme: Theme): string {
  return `:root { ${Object.entries(THEMES[theme]).map(([k, v]) => `--vscode-${k}: ${v};`).join(' ')} }`;
}

export interface PanelHarness {
  page: Page;
  /** Host actions the panel asked for (open, reveal, copy, confirm). */
  actions: PanelToHost[];
  setTheme(theme: Theme): Promise<void>;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.webp': 'image/webp', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.svg': 'image/svg+xml', '.gif': 'image/gif' };

export interface PanelOptions {
  theme?: Theme;
  /** Benchmarks over seeded catalogs (no thumbnails made): images shown in place of missing thumbnails. */
  thumbnailStandIns?: string[];
}

/** Gives objects whose `thumbnail` is null one of the stand-in images (chosen by their id). */
function fillThumbnails(value: unknown, standIns: string[]): unknown {
  if (Array.isArray(value)) return value.map((v) => fillThumbnails(v, standIns));
  if (value === null || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = fillThumbnails(v, standIns);
  if ('thumbnail' in o && o.thumbnail === null) out.thumbnail = standIns[Number(o.id ?? 0) % standIns.length];
  return out;
}

/** A webview page (script, stylesheet, body) served with the extension's CSP and a stand-in for the webview API. */
interface WebviewPage {
  script: string;
  style: string;
  body: string;
  theme: Theme;
  allowedDirs: string[];
  /** A message the page posted to its host; `send` posts one back to the page. */
  onMessage(m: unknown, send: (m: unknown) => Promise<void>, toUrl: (path: string) => string): Promise<void>;
}

async function openWebviewPage(spec: WebviewPage): Promise<{ page: Page; send: (m: unknown) => Promise<void>; setTheme(t: Theme): Promise<void>; close(): Promise<void> }> {
  let currentTheme = spec.theme;
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/') {
      // The same policy the extension gives its webviews: scripts only with the page's nonce.
      const nonce = randomBytes(16).toString('base64');
      res.setHeader('content-type', 'text/html');
      res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self'; style-src 'self' 'nonce-${nonce}'; script-src 'nonce-${nonce}'">
<style id="theme" nonce="${nonce}">${themeCss(currentTheme)}</style>
<link rel="stylesheet" href="/dist/${spec.style}"></head><body>${spec.body}
<script nonce="${nonce}">
  let saved;
  window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__toHost(m), getState: () => saved, setState: (s) => { saved = s; } });
</script>
<script nonce="${nonce}" src="/dist/${spec.script}"></script></body></html>`);
      return;
    }
    const file = url.pathname.startsWith('/dist/') ? join(REPO, url.pathname) : url.pathname === '/file' ? resolve(url.searchParams.get('p') ?? '') : '';
    // Like a webview's localResourceRoots: only the extension's files and the served folders.
    const allowed = file.startsWith(join(REPO, 'dist') + '/') || spec.allowedDirs.some((d) => file.startsWith(d + '/'));
    if (!file || !allowed || !existsSync(file) || !statSync(file).isFile()) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream');
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const toUrl = (p: string) => `http://127.0.0.1:${port}/file?p=${encodeURIComponent(p)}`;

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const send = (m: unknown) => page.evaluate((msg) => window.postMessage(msg, '*'), m).then(() => undefined, () => undefined);
  await page.exposeBinding('__toHost', async (_source, m: unknown) => spec.onMessage(m, send, toUrl));
  await page.goto(`http://127.0.0.1:${port}/`);
  return {
    page,
    send,
    async setTheme(t: Theme) {
      currentTheme = t;
      await page.evaluate((css) => {
        document.getElementById('theme')!.textContent = css;
      }, themeCss(t));
    },
    async close() {
      await browser.close().catch(() => undefined);
      await new Promise((r) => server.close(() => r(undefined)));
    },
  };
}

export async function openPanel(rpc: MessageConnection, allowedDirs: string[], options: PanelOptions = {}): Promise<PanelHarness> {
  const actions: PanelToHost[] = [];
  const opened = await openWebviewPage({
    script: 'panel.js',
    style: 'panel.css',
    body: '<div id="root"></div>',
    theme: options.theme ?? 'light',
    allowedDirs,
    async onMessage(raw, send, toUrl) {
      const m = raw as PanelToHost;
      const reply = (r: HostToPanel) => send(r);
      if (m.type === 'rpc') {
        if (!PANEL_METHODS.includes(m.method)) return void (await reply({ type: 'rpc-result', id: m.id, error: { code: -32601, message: 'not allowed' } }));
        try {
          const result = await rpc.sendRequest(m.method, m.params);
          const shown = options.thumbnailStandIns ? fillThumbnails(result, options.thumbnailStandIns) : result;
          await reply({ type: 'rpc-result', id: m.id, result: rewriteResources(shown, toUrl) });
        } catch (err) {
          const e = err as { code?: number; message?: string };
          await reply({ type: 'rpc-result', id: m.id, error: { code: e.code ?? -32603, message: e.message ?? String(err) } });
        }
      } else if (m.type === 'confirm') {
        actions.push(m);
        await reply({ type: 'confirmed', id: m.id, ok: true }); // the user says yes
      } else if (m.type !== 'ready') {
        actions.push(m);
      }
    },
  });
  rpc.onNotification('index/changed', (params: unknown) => void opened.send({ type: 'notification', method: 'index/changed', params } satisfies HostToPanel));
  await opened.page.locator('.tabs').waitFor();
  return { page: opened.page, actions, setTheme: opened.setTheme, close: opened.close };
}

/**
 * Runs the gallery sidebar (dist/gallery.js) the same way: its queries go to the real sidecar, answered
 * as the extension's gallery view answers them.
 */
export async function openGallery(rpc: MessageConnection, allowedDirs: string[], options: PanelOptions & { width?: number } = {}): Promise<{ page: Page; close(): Promise<void> }> {
  const opened = await openWebviewPage({
    script: 'gallery.js',
    style: 'gallery.css',
    body: GALLERY_BODY,
    theme: options.theme ?? 'dark',
    allowedDirs,
    async onMessage(raw, send, toUrl) {
      const m = raw as ToHost;
      if (m.type === 'ready') return void (await send({ type: 'refresh' } satisfies ToWebview));
      if (m.type !== 'query') return;
      try {
        const res = (await rpc.sendRequest(SearchRequest, { query: composeQuery(m.text, m.filters), limit: GALLERY_PAGE, cursor: m.cursor }));
        const hits = options.thumbnailStandIns ? (fillThumbnails(res.items, options.thumbnailStandIns) as typeof res.items) : res.items;
        await send({ type: 'results', seq: m.seq, items: galleryItems(hits, toUrl), total: res.total, nextCursor: res.nextCursor, append: m.cursor !== null, note: null } satisfies ToWebview);
      } catch (err) {
        await send({ type: 'error', seq: m.seq, message: err instanceof Error ? err.message : String(err) } satisfies ToWebview);
      }
    },
  });
  if (options.width) await opened.page.setViewportSize({ width: options.width, height: 800 });
  return { page: opened.page, close: opened.close };
}

export function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
