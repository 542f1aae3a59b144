/**
 * The extension's one service: the settings, the served roots and the sidecar connection, with the
 * workspace-trust and settings-change rules. Commands and views talk to the sidecar through it.
 */
import * as vscode from 'vscode';
import { join, sep } from 'node:path';
import type { RequestType, NotificationType } from 'vscode-jsonrpc';
import { IndexStatusRequest, type RootStatus } from '../sidecar/protocol';
import { readSettings, resolveRoots, restartNeeded, serveCommand, type LoupeSettings } from './settings';
import { SidecarClient } from './sidecar-client';

export type LoupeState = 'untrusted' | 'no-folder' | 'starting' | 'running' | 'stopped' | 'failed';

export class Loupe implements vscode.Disposable {
  settings: LoupeSettings;
  roots: string[] = [];
  private client: SidecarClient | null = null;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly stateEmitter = new vscode.EventEmitter<LoupeState>();
  readonly onState = this.stateEmitter.event;
  private readonly readyEmitter = new vscode.EventEmitter<void>();
  /** Fires when a (re)started sidecar is ready for requests. */
  readonly onReady = this.readyEmitter.event;
  state: LoupeState = 'stopped';
  private pendingNotifications: Array<{ type: NotificationType<unknown>; handler: (p: unknown) => void }> = [];
  private readyWaiters: Array<() => void> = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    readonly output: vscode.LogOutputChannel,
  ) {
    this.settings = readSettings((key) => vscode.workspace.getConfiguration('loupe').get(key));
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('loupe')) return;
        const next = readSettings((key) => vscode.workspace.getConfiguration('loupe').get(key));
        const changed = restartNeeded(this.settings, next);
        this.settings = next;
        if (changed && this.client) {
          this.output.info('settings changed: restarting the sidecar with them');
          void this.restart();
        }
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => void this.restart()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.start()),
    );
  }

  get timings() {
    return this.client?.timings ?? { startMs: null, readyMs: null };
  }

  private setState(state: LoupeState): void {
    this.state = state;
    this.stateEmitter.fire(state);
  }

  /** Starts the sidecar unless the workspace is untrusted or has no folder. */
  async start(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      this.setState('untrusted');
      return;
    }
    const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file').map((f) => f.uri.fsPath);
    this.roots = resolveRoots(this.settings, folders);
    if (this.roots.length === 0) {
      this.setState('no-folder');
      return;
    }
    if (this.client) return;
    const client = new SidecarClient(() => {
      const { args, env } = serveCommand(this.settings, this.roots, process.pid);
      return { execPath: process.execPath, script: join(this.context.extensionPath, 'dist', 'sidecar.js'), args, env };
    }, this.output);
    this.client = client;
    client.onState((s) => this.setState(s === 'running' ? 'running' : s));
    client.onReady(() => {
      for (const w of this.readyWaiters.splice(0)) w();
      this.readyEmitter.fire();
    });
    for (const n of this.pendingNotifications) client.onNotification(n.type, n.handler);
    try {
      await client.start();
    } catch (err) {
      this.setState('failed');
      this.output.error(`could not start the sidecar: ${err instanceof Error ? err.message : String(err)}`);
      void vscode.window.showErrorMessage(`Loupe could not start: ${err instanceof Error ? err.message : String(err)}`, 'Show Log').then((a) => {
        if (a) this.output.show();
      });
    }
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (client) {
      await client.stop();
      client.dispose();
    }
    this.setState('stopped');
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  /** Resolves when the sidecar can take requests (or rejects with a message saying why not). */
  whenReady(timeoutMs = 60_000): Promise<void> {
    if (this.client?.running) return Promise.resolve();
    if (this.state === 'untrusted') return Promise.reject(new Error('Loupe is off in this untrusted workspace. Trust the workspace to index its images.'));
    if (this.state === 'no-folder') return Promise.reject(new Error('Open a folder to use Loupe.'));
    if (this.state === 'failed' || this.state === 'stopped') void this.start();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Loupe is still starting; try again in a moment.')), timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async request<P, R>(type: RequestType<P, R, void>, params: P, token?: vscode.CancellationToken): Promise<R> {
    await this.whenReady();
    return this.client!.sendRequest(type, params, token);
  }

  /** Reports the sidecar's progress on `token` (a `workDoneToken` this side sent) as VS Code progress. */
  progressOn(token: string, progress: vscode.Progress<{ message?: string; increment?: number }>): vscode.Disposable {
    let last = 0;
    return (
      this.client?.onProgress(token, (v) => {
        if (v.kind === 'end') return;
        const pct = typeof v.percentage === 'number' ? v.percentage : last;
        progress.report({ message: v.message, increment: Math.max(0, pct - last) });
        last = pct;
      }) ?? new vscode.Disposable(() => undefined)
    );
  }

  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): void {
    const entry = { type: type as NotificationType<unknown>, handler: handler as (p: unknown) => void };
    this.pendingNotifications.push(entry);
    this.client?.onNotification(entry.type, entry.handler);
  }

  async status(): Promise<RootStatus[]> {
    return (await this.request(IndexStatusRequest, {})).roots;
  }

  /** The served root that holds a file, if any. */
  rootOf(path: string): string | null {
    const hit = this.roots.filter((r) => path === r || path.startsWith(r.endsWith(sep) ? r : `${r}${sep}`)).sort((a, b) => b.length - a.length)[0];
    return hit ?? null;
  }

  dispose(): void {
    void this.stop();
    this.disposables.forEach((d) => d.dispose());
    this.stateEmitter.dispose();
    this.readyEmitter.dispose();
  }
}
