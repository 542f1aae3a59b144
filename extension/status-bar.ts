/**
 * The status bar item: image count when idle, a spinner with done/total while indexing, a warning when
 * Loupe is off (untrusted workspace) or failed. Clicking it opens the details (`loupe.showStatus`).
 */
import * as vscode from 'vscode';
import { IndexChangedNotification, type RootStatus } from '../sidecar/protocol';
import { summariseStatus } from './present';
import type { Loupe } from './loupe';

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
