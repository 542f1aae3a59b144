import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { Catalog } from '../catalog/catalog';
import type { Asset } from '../catalog/types';
import { indexRoot, type AssetsChanged, type IndexSummary } from '../pipeline/indexer';
import type { IndexProgress } from '../pipeline/progress';
import type { Analyzer } from '../pipeline/analyzer';
import { DEFAULT_EXCLUDES } from '../scan/ignore-rules';
import type { AssetDetails, IndexFailure, RootState, RootStatus } from '../protocol';
import type { Logger } from './log';
import { RootWatcher } from './root-watcher';
import { dismissGroup, findDuplicateGroups } from '../duplicates/find-groups';
import { listResolutions, recoverResolutions, resolveGroup, trashAssets, undoResolution, type ResolutionResult, type ResolveRequest } from '../duplicates/resolve';
import type { DuplicateReport } from '../duplicates/types';
import { FaceLibrary } from '../faces/library';
import { SearchEngine, type SearchRequest as EngineSearchRequest, type SearchResult as EngineSearchResult } from '../search/search';
import { closeEmbeddingIndexes } from '../vectors/registry';
import { OcrTextIndex } from '../ocr/text-search';
import { OcrTextSignal, ocrTextFilter } from '../ocr/signal';
import { ocrOfAsset, searchOcr, type OcrSearchItem } from '../ocr/library';
import { SemanticSearch } from '../semantic/semantic-search';
import { analyzerEnabled } from '../analyzers/enabled';
import { enableTags, tagsOfAsset } from '../tags/tags';
import { applyTransforms, undoTransform, type ApplyHooks, type ApplyResult, type TransformUndoResult } from '../transform/apply';
import { previewTransform, type TransformPreview } from '../transform/preview';
import { insideRoot } from '../transform/naming';
import { TransformError, type TransformOptions } from '../transform/options';

export interface RootServiceOptions {
  excludes?: readonly string[];
  analyzers?: readonly Analyzer[];
  watch?: boolean;
  watchDebounceMs?: number;
  concurrency?: number;
  logger: Logger;
}

export interface RunEvents {
  'run-start': [runId: number, reason: string];
  progress: [runId: number, progress: IndexProgress];
  'run-end': [runId: number, summary: IndexSummary | null, error: unknown];
  changed: [change: AssetsChanged];
}

/**
 * Everything the server does for one root: the catalog (single writer), index runs one at a
 * time (a request during a run queues exactly one follow-up run), the watcher, and change events.
 */
export class RootService extends EventEmitter<RunEvents> {
  private state: RootState = 'starting';
  private progress: IndexProgress | null = null;
  private lastRun: RootStatus['lastRun'] = null;
  private running: Promise<void> | null = null;
  private rerun: string | null = null;
  private abort: AbortController | null = null;
  private watcher: RootWatcher | null = null;
  private runCounter = 0;
  private closed = false;
  private pendingChange: AssetsChanged = { upserted: [], removed: [] };
  private changeTimer: NodeJS.Timeout | null = null;

  private constructor(
    readonly root: string,
    readonly catalog: Catalog,
    /** In-memory search over this root, kept in step with the catalog by change events. */
    readonly engine: SearchEngine,
    /** Faces and people of this root; assigns new faces incrementally after each change. */
    readonly people: FaceLibrary,
    /** Recognised text of this root (in memory, loaded from the catalog's inverted index). */
    readonly ocrIndex: OcrTextIndex,
    private readonly options: RootServiceOptions,
  ) {
    super();
    engine.registerFilterProvider(people.personFilter());
    engine.registerFilterProvider(people.facesFilter());
    engine.registerSignal(new OcrTextSignal(ocrIndex));
    engine.registerFilterProvider(ocrTextFilter(ocrIndex));
    this.semantic = new SemanticSearch(catalog, (level, msg) => options.logger.log(level, msg), undefined, false);
    // Semantic search can be turned off in the editor's settings (LOUPE_ANALYZERS without clip).
    if (analyzerEnabled('clip')) engine.registerSignal(this.semantic.signal());
    this.on('changed', (change) => {
      this.semantic.applyChange(change).catch((err: unknown) => options.logger.log('warn', `semantic index update failed: ${err instanceof Error ? err.message : String(err)}`));
    });
    enableTags(engine, {
      warm: true,
      onError: (err) => options.logger.log('warn', `loading tags failed: ${err instanceof Error ? err.message : String(err)}`),
    });
  }

  /** CLIP search over this root (off until the model is on this machine). */
  readonly semantic: SemanticSearch;

  static async open(root: string, options: RootServiceOptions): Promise<RootService> {
    const catalog = await Catalog.open(root);
    const recovered = await recoverResolutions(catalog);
    if (recovered) options.logger.log('warn', `rolled back ${recovered} duplicate resolution(s) interrupted by a crash in ${root}`);
    const service = new RootService(root, catalog, await SearchEngine.load(catalog), await FaceLibrary.open(catalog), await OcrTextIndex.load(catalog), options);
    if (options.watch !== false) {
      service.watcher = new RootWatcher(root, {
        excludes: options.excludes ?? DEFAULT_EXCLUDES,
        stateDir: catalog.stateDir,
        debounceMs: options.watchDebounceMs ?? 400,
        onSettled: () => service.requestRun('files changed'),
        onError: (err) => options.logger.log('warn', `watcher on ${root}: ${err instanceof Error ? err.message : String(err)}`),
      });
      await service.watcher.start();
    }
    service.state = 'idle';
    // Load (and sha256-check) the CLIP model in the background, not on the first query.
    if (analyzerEnabled('clip')) service.semantic.currentModel().catch(() => undefined);
    return service;
  }

  get currentRunId(): number | null {
    return this.running ? this.runCounter : null;
  }

  /** Starts an index run, or queues one follow-up if a run is already going. */
  requestRun(reason: string): boolean {
    if (this.closed) return false;
    if (this.running) {
      this.rerun = reason;
      return false;
    }
    this.running = this.run(reason).finally(() => {
      this.running = null;
      const again = this.rerun;
      this.rerun = null;
      if (again && !this.closed) this.requestRun(again);
    });
    return true;
  }

  /** Resolves when no run is going or queued. */
  async whenIdle(): Promise<void> {
    while (this.running) await this.running;
  }

  cancel(): boolean {
    this.rerun = null;
    if (!this.abort || this.abort.signal.aborted) return false;
    this.abort.abort();
    return true;
  }

  private async run(reason: string): Promise<void> {
    const runId = ++this.runCounter;
    this.abort = new AbortController();
    this.state = 'scanning';
    this.options.logger.log('info', `index run ${runId} on ${this.root} (${reason})`);
    this.emit('run-start', runId, reason);
    try {
      const summary = await indexRoot(this.catalog, {
        analyzers: this.options.analyzers,
        excludes: this.options.excludes ?? DEFAULT_EXCLUDES,
        concurrency: this.options.concurrency,
        signal: this.abort.signal,
        onProgress: (p) => {
          if (p.phase === 'index') this.state = 'indexing';
          this.progress = p;
          this.emit('progress', runId, p);
        },
        onAssetsChanged: (change) => this.queueChange(change),
      });
      this.lastRun = {
        finishedAt: new Date().toISOString(),
        processed: summary.processed,
        failed: summary.failed,
        durationMs: Math.round(summary.durationMs),
      };
      this.options.logger.log(
        'info',
        `index run ${runId} ${summary.cancelled ? 'cancelled' : 'done'}: ${summary.processed} processed, ${summary.failed} failed, scan ${Math.round(summary.scan.durationMs)} ms`,
      );
      this.flushChange();
      await this.engineUpdates;
      await this.people.settle().catch((err: unknown) => this.options.logger.log('error', `grouping faces failed: ${err instanceof Error ? err.message : String(err)}`));
      this.emit('run-end', runId, summary, null);
    } catch (err) {
      const cancelled = this.abort.signal.aborted;
      if (!cancelled) this.options.logger.log('error', `index run ${runId} on ${this.root} failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      this.flushChange();
      this.emit('run-end', runId, null, cancelled ? null : err);
    } finally {
      this.state = 'idle';
      this.progress = null;
      this.abort = null;
    }
  }

  /** Batches change events so a fast index run sends a few notifications, not one per image. */
  /** Files the user just trashed leave search results at once, not after the change debounce. */
  private removedByUser(removed: number[]): void {
    this.queueChange({ upserted: [], removed });
    this.flushChange();
  }

  private queueChange(change: AssetsChanged): void {
    this.pendingChange.upserted.push(...change.upserted);
    this.pendingChange.removed.push(...change.removed);
    if (!this.changeTimer) this.changeTimer = setTimeout(() => this.flushChange(), 250);
  }

  private flushChange(): void {
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.changeTimer = null;
    const change = this.pendingChange;
    if (change.upserted.length === 0 && change.removed.length === 0) return;
    this.pendingChange = { upserted: [], removed: [] };
    const removed = new Set(change.removed);
    const settled = { upserted: [...new Set(change.upserted)].filter((id) => !removed.has(id)), removed: [...removed] };
    // Clients are told only once a search would already see the change.
    this.engine.remove(settled.removed);
    this.ocrIndex.remove(settled.removed);
    this.engineUpdates = this.engineUpdates
      .then(() => this.ocrIndex.refresh(settled.upserted))
      .then(() => this.engine.refresh(settled.upserted))
      .then(() => this.people.update())
      .catch((err: unknown) => this.options.logger.log('error', `search index update failed: ${err instanceof Error ? err.message : String(err)}`))
      .then(() => {
        this.emit('changed', settled);
      });
  }

  private engineUpdates: Promise<void> = Promise.resolve();

  search(request: EngineSearchRequest): Promise<EngineSearchResult> {
    return this.engine.search(request);
  }

  /** Images found by the words in them, with the matching lines and their boxes. */
  searchText(query: string, limit: number): Promise<{ items: OcrSearchItem[]; total: number }> {
    return searchOcr(this.catalog, this.ocrIndex, query, limit);
  }

  async status(): Promise<RootStatus> {
    const s = await this.catalog.summary(0);
    return {
      root: this.root,
      catalog: this.catalog.dbPath,
      state: this.state,
      images: s.ok,
      pending: s.pending,
      errors: s.errors,
      progress: this.progress,
      lastRun: this.lastRun,
      watching: this.watcher !== null,
    };
  }

  async failures(limit: number): Promise<IndexFailure[]> {
    const s = await this.catalog.summary(limit);
    return s.failures.map((f) => ({ root: this.root, ...f }));
  }

  thumbnailPath(asset: Asset): string | null {
    return asset.thumb ? join(this.catalog.thumbsDir, asset.thumb) : null;
  }

  async details(id: number): Promise<AssetDetails | null> {
    const a = await this.catalog.getAsset(id);
    if (!a) return null;
    return {
      root: this.root,
      id: a.id,
      relPath: a.relPath,
      absPath: join(this.root, a.relPath),
      size: a.size,
      format: a.format,
      width: a.width,
      height: a.height,
      takenAt: a.takenAt,
      camera: [a.cameraMake, a.cameraModel].filter(Boolean).join(' ') || null,
      orientation: a.orientation,
      gps: a.gpsLat !== null && a.gpsLon !== null ? { lat: a.gpsLat, lon: a.gpsLon } : null,
      status: a.status,
      error: a.errorCode ? { code: a.errorCode, message: a.errorMessage ?? '' } : null,
      thumbnail: this.thumbnailPath(a),
      tags: await tagsOfAsset(this.catalog, a.id),
      ocr: await ocrOfAsset(this.catalog, a.id),
      faces: await this.people.facesOfAsset(a.id),
    };
  }

  duplicates(): Promise<DuplicateReport> {
    return findDuplicateGroups(this.catalog);
  }

  /** Resolutions change files on disk; a follow-up run brings the catalog and search up to date. */
  async resolveDuplicates(request: ResolveRequest): Promise<ResolutionResult> {
    await this.whenIdle();
    try {
      return await resolveGroup(this.catalog, request, (removed) => this.removedByUser(removed));
    } finally {
      this.requestRun('duplicates resolved');
    }
  }

  async trash(assetIds: number[]): Promise<ResolutionResult> {
    await this.whenIdle();
    try {
      return await trashAssets(this.catalog, assetIds, (removed) => this.removedByUser(removed));
    } finally {
      this.requestRun('files trashed');
    }
  }

  async undoResolution(id: number): Promise<ResolutionResult> {
    await this.whenIdle();
    try {
      return await undoResolution(this.catalog, id);
    } finally {
      this.requestRun('resolution undone');
    }
  }

  /** Where `transform/preview` writes its temporary preview images. */
  get previewDir(): string {
    return join(this.catalog.stateDir, 'previews');
  }

  async previewTransform(id: number, options: TransformOptions): Promise<TransformPreview | null> {
    const asset = await this.catalog.getAsset(id);
    if (!asset) return null;
    return previewTransform(join(this.root, asset.relPath), options, this.previewDir);
  }

  /** Root-relative paths of the indexed images with these ids, or under `folder` ("" = all). */
  async selectImages(selection: { ids?: number[]; folder?: string }): Promise<string[]> {
    if (selection.folder !== undefined) {
      const folder = selection.folder.replace(/^\/+|\/+$/g, '');
      if (folder !== '' && insideRoot(folder) === null) throw new TransformError('the folder is outside the root', 'outside_root');
      const rows = await this.catalog.read(
        `SELECT rel_path FROM assets WHERE status = 'ok' AND ($1 = '' OR starts_with(rel_path, $1 || '/')) ORDER BY rel_path`,
        [folder],
      );
      return rows.map((r) => r.rel_path as string);
    }
    const paths: string[] = [];
    for (const id of selection.ids ?? []) {
      const asset = await this.catalog.getAsset(id);
      if (!asset) throw new TransformError(`no asset ${id}`, 'unknown_asset');
      paths.push(asset.relPath);
    }
    return paths;
  }

  /** Writes optimised images (journalled; `undoTransform` reverts). A follow-up run indexes the new files. */
  async applyTransforms(relPaths: string[], request: { options: TransformOptions; mode?: 'beside' | 'replace'; overwrite?: boolean; pattern?: string }, hooks: ApplyHooks): Promise<ApplyResult> {
    await this.whenIdle();
    try {
      return await applyTransforms(this.catalog, { relPaths, ...request }, { ...hooks, onRemoved: (removed) => this.removedByUser(removed) });
    } finally {
      this.requestRun('images optimised');
    }
  }

  async undoTransform(id: number): Promise<TransformUndoResult> {
    await this.whenIdle();
    try {
      return await undoTransform(this.catalog, id);
    } finally {
      this.requestRun('optimisation undone');
    }
  }

  dismissDuplicates(key: string): Promise<void> {
    return dismissGroup(this.catalog, key);
  }

  resolutions(limit: number): Promise<ResolutionResult[]> {
    return listResolutions(this.catalog, limit);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancel();
    await this.watcher?.close();
    await this.whenIdle();
    this.flushChange();
    await this.engineUpdates;
    await closeEmbeddingIndexes(this.catalog);
    this.catalog.close();
  }
}
