/**
 * The Loupe panel's host: one webview panel (strict CSP with a nonce), a postMessage bridge that
 * forwards the panel's allowed requests to the sidecar and its notifications back, and the actions
 * a webview cannot do itself (open, reveal, copy, confirm).
 */
import * as vscode from 'vscode';
import { dirname } from 'node:path';
import { ResponseError, type RequestType } from 'vscode-jsonrpc';
import { IndexChangedNotification } from '../sidecar/protocol';
import { PANEL_METHODS, rewriteResources, type HostToPanel, type PanelToHost, type PanelView } from '../webview/panel/bridge-messages';
import type { Loupe } from './loupe';
import { webviewHtml } from './webview-html';

export class LoupePanel {
  private static current: LoupePanel | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private queued: HostToPanel[] = [];

  static show(context: vscode.ExtensionContext, loupe: Loupe, view?: PanelView, query?: string): void {
    if (!LoupePanel.current) LoupePanel.current = new LoupePanel(context, loupe);
    const p = LoupePanel.current;
    p.panel.reveal(p.panel.viewColumn ?? vscode.ViewColumn.Active);
    if (view) p.post({ type: 'show', view, query });
  }

  private readonly panel: vscode.WebviewPanel;

  private constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly loupe: Loupe,
  ) {
    this.panel = vscode.window.createWebviewPanel('loupe.panel', 'Loupe', vscode.ViewColumn.Active, {
      enableScripts: true,
      retainContextWhenHidden: true,
      localResourceRoots: this.resourceRoots([]),
    });
    this.panel.iconPath = vscode.Uri.joinPath(context.extensionUri, 'media', 'loupe.svg');
    this.panel.webview.html = this.html();
    this.disposables.push(
      this.panel.webview.onDidReceiveMessage((m: PanelToHost) => void this.onMessage(m)),
      this.panel.onDidDispose(() => this.dispose()),
    );
    loupe.onNotification(IndexChangedNotification, (params) => this.post({ type: 'notification', method: IndexChangedNotification.method, params }));
    void this.updateRoots();
    loupe.onReady(() => void this.updateRoots());
  }

  /** The webview may load the extension's scripts, and images and thumbnails inside the served roots. */
  private resourceRoots(stateDirs: string[]): vscode.Uri[] {
    return [vscode.Uri.joinPath(this.context.extensionUri, 'dist'), ...this.loupe.roots.map((r) => vscode.Uri.file(r)), ...stateDirs.map((d) => vscode.Uri.file(d))];
  }

  private async updateRoots(): Promise<void> {
    try {
      const roots = await this.loupe.status();
      this.panel.webview.options = { enableScripts: true, localResourceRoots: this.resourceRoots(roots.map((r) => dirname(r.catalog))) };
    } catch {
      // retried on the next ready event
    }
  }

  private post(m: HostToPanel): void {
    if (!this.ready) this.queued.push(m);
    else void this.panel.webview.postMessage(m);
  }

  private async onMessage(m: PanelToHost): Promise<void> {
    switch (m.type) {
      case 'ready':
        this.ready = true;
        for (const q of this.queued.splice(0)) void this.panel.webview.postMessage(q);
        return;
      case 'rpc': {
        if (!PANEL_METHODS.includes(m.method)) {
          this.post({ type: 'rpc-result', id: m.id, error: { code: -32601, message: `${m.method} is not available to the panel` } });
          return;
        }
        try {
          const type = { method: m.method } as RequestType<unknown, unknown, void>;
          const result = await this.loupe.request(type, m.params);
          const webview = this.panel.webview;
          this.post({ type: 'rpc-result', id: m.id, result: rewriteResources(result, (p) => webview.asWebviewUri(vscode.Uri.file(p)).toString()) });
        } catch (err) {
          const code = err instanceof ResponseError ? err.code : -32603;
          this.post({ type: 'rpc-result', id: m.id, error: { code, message: err instanceof Error ? err.message : String(err) } });
        }
        return;
      }
      case 'open':
        if (this.loupe.rootOf(m.path)) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(m.path), { preview: true, viewColumn: vscode.ViewColumn.Beside });
        return;
      case 'reveal':
        if (this.loupe.rootOf(m.path)) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(m.path));
        return;
      case 'optimise':
        if (this.loupe.rootOf(m.path)) await vscode.commands.executeCommand('loupe.optimiseImage', vscode.Uri.file(m.path));
        return;
      case 'copy':
        await vscode.env.clipboard.writeText(m.text);
        vscode.window.setStatusBarMessage('Copied', 2000);
        return;
      case 'confirm': {
        const answer = await vscode.window.showWarningMessage(m.message, { modal: true, detail: m.detail }, m.action);
        this.post({ type: 'confirmed', id: m.id, ok: answer === m.action });
        return;
      }
    }
  }

  private html(): string {
    return webviewHtml(this.panel.webview, this.context.extensionUri, { title: 'Loupe', script: 'panel.js', style: 'panel.css', body: '<div id="root"></div>' });
  }

  private dispose(): void {
    LoupePanel.current = null;
    this.disposables.forEach((d) => d.dispose());
  }
}
