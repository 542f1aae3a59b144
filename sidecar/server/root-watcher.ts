import { watch, type FSWatcher } from 'chokidar';
import { relative, sep } from 'node:path';
import { compileExcludes } from '../scan/ignore-rules';

export interface RootWatcherOptions {
  excludes: readonly string[];
  /** Loupe's own state folder: its writes must never trigger a rescan. */
  stateDir: string;
  /** Quiet period after the last file event before `onSettled` fires. */
  debounceMs: number;
  onSettled: () => void;
  onError: (err: unknown) => void;
}

/**
 * Watches a root and calls `onSettled` once file activity has been quiet for `debounceMs`.
 * Atomic saves (write temp file, rename over) show up as several events and settle into one call.
 */
export class RootWatcher {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly root: string,
    private readonly options: RootWatcherOptions,
  ) {}

  async start(): Promise<void> {
    const excluded = compileExcludes(this.options.excludes);
    const stateDir = this.options.stateDir;
    this.watcher = watch(this.root, {
      ignoreInitial: true,
      followSymlinks: false,
      ignored: (path: string) => {
        if (path === stateDir || path.startsWith(stateDir + sep)) return true;
        const rel = relative(this.root, path).split(sep).join('/');
        return rel !== '' && !rel.startsWith('..') && excluded(rel);
      },
    });
    this.watcher.on('all', () => this.bump());
    this.watcher.on('error', (err) => this.options.onError(err));
    await new Promise<void>((resolve) => this.watcher!.once('ready', () => resolve()));
  }

  private bump(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.options.onSettled();
    }, this.options.debounceMs);
  }

  async close(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await this.watcher?.close();
    this.watcher = null;
  }
}
