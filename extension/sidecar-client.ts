/**
 * The connection to the sidecar: spawns it with the editor's Node, reads its handshake, and drives it
 * through vscode-languageclient over the authenticated WebSocket (custom message transports). When the
 * sidecar dies the client restarts it with back-off; server-initiated work-done progress (indexing)
 * is shown natively by the language client.
 */
import * as vscode from 'vscode';
import type { ChildProcess } from 'node:child_process';
import { CloseAction, ErrorAction, LanguageClient, State, WorkDoneProgress, type MessageTransports, type WorkDoneProgressBegin, type WorkDoneProgressEnd, type WorkDoneProgressReport } from 'vscode-languageclient/node';
import type { NotificationType, RequestType } from 'vscode-jsonrpc';
import { openAuthenticatedSocket } from '../sidecar/client/connect';
import { WebSocketMessageReader, WebSocketMessageWriter } from '../sidecar/ws-transport';
import { RestartPolicy } from './backoff';
import { startSidecar, stopSidecar, type SidecarLaunch } from './sidecar-process';

export interface SidecarTimings {
  /** Spawn to handshake (listening) of the latest start. */
  startMs: number | null;
  /** Spawn to the LSP initialize answer (ready for requests). */
  readyMs: number | null;
}

export class SidecarClient implements vscode.Disposable {
  private client: LanguageClient | null = null;
  private child: ChildProcess | null = null;
  private readonly policy = new RestartPolicy();
  private spawnedAt = 0;
  private stopping = false;
  readonly timings: SidecarTimings = { startMs: null, readyMs: null };
  private readonly readyEmitter = new vscode.EventEmitter<void>();
  /** Fires each time a (re)started sidecar is ready. */
  readonly onReady = this.readyEmitter.event;
  private readonly stateEmitter = new vscode.EventEmitter<'starting' | 'running' | 'stopped' | 'failed'>();
  readonly onState = this.stateEmitter.event;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly notifications = new Map<string, Set<(params: unknown) => void>>();

  constructor(
    private readonly launch: () => SidecarLaunch,
    private readonly output: vscode.LogOutputChannel,
  ) {}

  get running(): boolean {
    return this.client?.state === State.Running;
  }

  async start(): Promise<void> {
    this.stopping = false;
    this.policy.reset();
    this.stateEmitter.fire('starting');
    const client = new LanguageClient(
      'loupe',
      'Loupe',
      () => this.spawnAndConnect(),
      {
        documentSelector: [],
        outputChannel: this.output,
        // The default handler gives up after 4 crashes in 3 minutes without waiting; ours backs off.
        errorHandler: {
          error: () => ({ action: ErrorAction.Continue }),
          closed: async () => {
            if (this.stopping) return { action: CloseAction.DoNotRestart };
            const delay = this.policy.crashed(Date.now());
            if (delay === null) {
              this.stateEmitter.fire('failed');
              return { action: CloseAction.DoNotRestart, message: 'The Loupe sidecar stopped repeatedly; see the Loupe log.' };
            }
            this.output.warn(`sidecar connection closed; restarting in ${delay / 1000} s`);
            this.stateEmitter.fire('starting');
            await new Promise((r) => setTimeout(r, delay));
            return { action: CloseAction.Restart, handled: true };
          },
        },
        initializationFailedHandler: (err) => {
          this.output.error(`sidecar initialisation failed: ${err instanceof Error ? err.message : String(err)}`);
          return false;
        },
      },
    );
    this.client = client;
    for (const [method, handlers] of this.notifications) this.attach(client, method, handlers);
    this.disposables.push(
      client.onDidChangeState((e) => {
        if (e.newState === State.Running) {
          this.timings.readyMs = Math.round(performance.now() - this.spawnedAt);
          this.output.info(`sidecar ready in ${this.timings.readyMs} ms (listening after ${this.timings.startMs} ms)`);
          this.stateEmitter.fire('running');
          this.readyEmitter.fire();
        }
      }),
    );
    await client.start();
  }

  private async spawnAndConnect(): Promise<MessageTransports> {
    const launch = this.launch();
    this.spawnedAt = performance.now();
    this.output.info(`starting sidecar: ${launch.args.filter((a) => !a.startsWith('/') || a.length < 200).join(' ')}`);
    const started = await startSidecar(launch, (line) => this.output.appendLine(line));
    this.child = started.child;
    this.timings.startMs = Math.round(started.startMs);
    this.policy.started(Date.now());
    started.child.once('exit', (code, signal) => {
      if (!this.stopping) this.output.warn(`sidecar exited (${signal ?? `code ${code}`})`);
    });
    const socket = await openAuthenticatedSocket(started.handshake);
    return { reader: new WebSocketMessageReader(socket), writer: new WebSocketMessageWriter(socket) };
  }

  sendRequest<P, R>(type: RequestType<P, R, void>, params: P, token?: vscode.CancellationToken): Promise<R> {
    if (!this.client || !this.running) return Promise.reject(new Error('Loupe is not running (see the Loupe log)'));
    return this.client.sendRequest<R>(type.method, params, token);
  }

  /** Progress the sidecar reports on a token this side chose (`workDoneToken` of a request). */
  onProgress(token: string, handler: (value: WorkDoneProgressBegin | WorkDoneProgressReport | WorkDoneProgressEnd) => void): vscode.Disposable {
    if (!this.client) return new vscode.Disposable(() => undefined);
    return this.client.onProgress(WorkDoneProgress.type, token, handler);
  }

  /**
   * Registers a handler that survives restarts. A JSON-RPC connection keeps one handler per method,
   * so each method gets one dispatcher that calls every registered handler.
   */
  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): vscode.Disposable {
    let handlers = this.notifications.get(type.method);
    if (!handlers) {
      handlers = new Set();
      this.notifications.set(type.method, handlers);
      if (this.client) this.attach(this.client, type.method, handlers);
    }
    const h = handler as (p: unknown) => void;
    handlers.add(h);
    return new vscode.Disposable(() => handlers!.delete(h));
  }

  private attach(client: LanguageClient, method: string, handlers: Set<(p: unknown) => void>): void {
    client.onNotification(method, (params: unknown) => {
      for (const h of handlers) {
        try {
          h(params);
        } catch (err) {
          this.output.error(`${method} handler failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const client = this.client;
    const child = this.child;
    this.client = null;
    this.child = null;
    try {
      if (client && client.state !== State.Stopped) await client.stop(5000);
    } catch (err) {
      this.output.warn(`sidecar did not stop cleanly: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      if (child) await stopSidecar(child, 5000);
      client?.dispose().catch(() => undefined);
      this.stateEmitter.fire('stopped');
    }
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  dispose(): void {
    void this.stop();
    this.disposables.forEach((d) => d.dispose());
    this.readyEmitter.dispose();
    this.stateEmitter.dispose();
  }
}
