/**
 * The gallery sidebar's host side: serves the webview (strict CSP with a nonce, thumbnails through
 * `asWebviewUri` from the catalogs' thumbnail folders only), answers its queries through the sidecar and
 * turns its requests into the shared image actions.
 */
import * as vscode from 'vscode';
import { dirname } from 'node:path';
import { IndexChangedNotification, PeopleListRequest, SearchRequest } from '../sidecar/protocol';
import { composeQuery, GALLERY_BODY, GALLERY_PAGE, galleryItems, type ToHost, type ToWebview } from '../webview/gallery/messages';
import { openImage, type FoundImage } from './image-actions';
import type { Loupe } from './loupe';
import { webviewHtml } from './webview-html';
import { resultWarnings } from './present';

export const GALLERY_VIEW_ID = 'loupe.gallery';

export class GalleryViewProvider implements vscode.WebviewViewProvider {
  private view: vscode.WebviewView | null = null;
  private refreshTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly loupe: Loupe,
    private readonly trash: (image: FoundImage) => Promise<void>,
  ) {
    loupe.onNotification(IndexChangedNotification, () => this.refreshSoon());
    loupe.onReady(() => {
      void this.updateResourceRoots().then(() => this.post({ type: 'refresh' }));
      void this.sendPeople();
    });
    loupe.onState((s) => {
      if (s === 'untrusted') this.post({ type: 'status', text: 'Loupe is off in this untrusted workspace.' });
      else if (s === 'starting') this.post({ type: 'status', text: 'Starting…' });
      else if (s === 'failed') this.post({ type: 'status', text: 'Loupe stopped; see the Loupe log.' });
    });
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist');
    view.webview.options = { enableScripts: true, localResourceRoots: [dist] };
    view.webview.html = this.html(view.webview);
    view.webview.onDidReceiveMessage((m: ToHost) => void this.onMessage(m));
    view.onDidDispose(() => {
      this.view = null;
    });
    void this.updateResourceRoots();
  }

  /** The thumbnails live in each root's state folder (`.loupe/`, or the cache for read-only roots). */
  private async updateResourceRoots(): Promise<void> {
    if (!this.view || this.loupe.state !== 'running') return;
    try {
      const roots = await this.loupe.status();
      const dist = vscode.Uri.joinPath(this.context.extensionUri, 'dist');
      this.view.webview.options = { enableScripts: true, localResourceRoots: [dist, ...roots.map((r) => vscode.Uri.file(dirname(r.catalog)))] };
    } catch {
      // the next ready event retries
    }
  }

  private post(m: ToWebview): void {
    void this.view?.webview.postMessage(m);
  }

  private refreshSoon(): void {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = null;
      this.post({ type: 'refresh' });
    }, 1500);
  }

  private async sendPeople(): Promise<void> {
    try {
      const { people } = await this.loupe.request(PeopleListRequest, {});
      this.post({ type: 'people', names: [...new Set(people.map((p) => p.name).filter((n): n is string => !!n))].sort() });
    } catch {
      // people are optional
    }
  }

  private async onMessage(m: ToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        if (this.loupe.state === 'running') this.post({ type: 'refresh' });
        else this.post({ type: 'status', text: this.loupe.state === 'untrusted' ? 'Loupe is off in this untrusted workspace.' : 'Starting…' });
        return;
      case 'query':
        try {
          const res = await this.loupe.request(SearchRequest, { query: composeQuery(m.text, m.filters), limit: GALLERY_PAGE, cursor: m.cursor });
          const webview = this.view?.webview;
          if (!webview) return;
          const items = galleryItems(res.items, (path) => webview.asWebviewUri(vscode.Uri.file(path)).toString());
          this.post({ type: 'results', seq: m.seq, items, total: res.total, nextCursor: res.nextCursor, append: m.cursor !== null, note: resultWarnings(res.warnings).join('; ') || null });
        } catch (err) {
          this.post({ type: 'error', seq: m.seq, message: err instanceof Error ? err.message : String(err) });
        }
        return;
      case 'open':
        await openImage(m.item);
        return;
      case 'trash':
        await this.trash(m.item);
        return;
    }
  }

  private html(webview: vscode.Webview): string {
    return webviewHtml(webview, this.context.extensionUri, {
      title: 'Loupe Gallery',
      script: 'gallery.js',
      style: 'gallery.css',
      body: GALLERY_BODY,
    });
  }
}
