/**
 * The status bar item: image count when idle, a spinner with done/total while indexing, a warning when
 * Loupe is off (untrusted workspace) or failed. Clicking it opens the details (`loupe.showStatus`).
 */
import * as vscode from 'vscode';
import { IndexChangedNotification, type RootStatus } from '../sidecar/protocol';
import type { Loupe } from './loupe';

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

export class LoupeStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('loupe.status', vscode.StatusBarAlignment.Left, 10);
  private timer: NodeJS.Timeout | null = null;
  private disposed = false;
  private latest: RootStatus[] = [];

  constructor(private readonly loupe: Loupe) {
    this.item.name = 'Loupe';
    this.item.command = 'loupe.showStatus';
    this.item.text = '$(file-media) Loupe';
    this.item.show();
    loupe.onState((s) => this.onState(s));
    loupe.onReady(() => this.poll());
    loupe.onNotification(IndexChangedNotification, () => this.schedule(300));
  }

  get roots(): readonly RootStatus[] {
    return this.latest;
  }

  private onState(state: string): void {
    const warn = new vscode.ThemeColor('statusBarItem.warningBackground');
    this.item.backgroundColor = undefined;
    switch (state) {
      case 'untrusted':
        this.item.text = '$(shield) Loupe off';
        this.item.tooltip = 'Loupe does not index untrusted workspaces. Trust this workspace to index its images.';
        break;
      case 'no-folder':
        this.item.text = '$(file-media) Loupe';
        this.item.tooltip = 'Open a folder to index its images.';
        break;
      case 'starting':
        this.item.text = '$(loading~spin) Loupe';
        this.item.tooltip = 'Loupe is starting';
        break;
      case 'failed':
        this.item.text = '$(error) Loupe';
        this.item.tooltip = 'Loupe stopped. Click for details and the log.';
        this.item.backgroundColor = warn;
        break;
    }
  }

  private schedule(ms: number): void {
    if (this.disposed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.poll();
    }, ms);
  }

  /** Polls while indexing (the sidecar pushes `index/changed`; progress itself comes as $/progress). */
  private async poll(): Promise<void> {
    if (this.disposed || this.loupe.state !== 'running') return;
    try {
      this.latest = await this.loupe.status();
      const s = summariseStatus(this.latest);
      this.item.text = s.text;
      this.item.tooltip = s.tooltip;
      this.item.backgroundColor = undefined;
      if (s.busy) this.schedule(1000);
    } catch {
      this.schedule(3000);
    }
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    this.item.dispose();
  }
}
