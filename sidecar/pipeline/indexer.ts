import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { Catalog } from '../catalog/catalog';
import { DEFAULT_LIMITS, DEFAULT_THUMB_SIZE, decodeImage, writeThumbnail, type DecodeLimits, type DecodedImage } from '../decode/decode';
import { scanRoot, type ScanResult } from '../scan/scanner';
import { DEFAULT_EXCLUDES } from '../scan/ignore-rules';
import { FileError, errorMessage } from '../util/errors';
import type { AnalyzerRows } from '../catalog/types';
import { analyzerVersions, staleAnalyzers, type Analyzer } from './analyzer';
import { ProgressTracker, type IndexProgress } from './progress';
import { runBounded } from './work-queue';
import { updateReferences } from '../references/reference-index';
import { loadAnalyzersFor } from '../analyzers/default-analyzers';

export interface IndexOptions {
  analyzers?: readonly Analyzer[];
  excludes?: readonly string[];
  gitignore?: boolean;
  concurrency?: number;
  limits?: Partial<DecodeLimits>;
  signal?: AbortSignal;
  onProgress?: (progress: IndexProgress) => void;
  /** Minimum milliseconds between progress reports (the last one is always sent). */
  progressIntervalMs?: number;
  /** Told which assets changed as soon as the catalog holds the change (live search, notifications). */
  onAssetsChanged?: (change: AssetsChanged) => void;
}

export interface AssetsChanged {
  upserted: number[];
  removed: number[];
}

export interface IndexSummary {
  scan: { filesSeen: number; unchanged: number; added: number; changed: number; moved: number; removed: number; durationMs: number };
  processed: number;
  failed: number;
  cancelled: boolean;
  durationMs: number;
  imagesPerSecond: number;
}

/** The key under which a non-default thumbnail size is kept with the analyzer versions. */
const THUMBNAIL_VERSION = 'thumbnail-size';

/**
 * Runs analyzers on one decoded image, adding their rows to `rows` in analyzer order (several may
 * write one table: they add up). They run at once: each model has its own worker thread, so one
 * image's objects, concepts, faces and text use the cores together instead of in turn.
 */
async function runAnalyzers(analyzers: readonly Analyzer[], image: DecodedImage, rows: AnalyzerRows, signal?: AbortSignal): Promise<void> {
  const sig = signal ?? new AbortController().signal;
  const results = await Promise.allSettled(analyzers.map((analyzer) => analyzer.analyze(image, sig)));
  results.forEach((result, i) => {
    if (result.status === 'rejected') throw new FileError('analyzer_failed', `${analyzers[i].name} failed: ${errorMessage(result.reason)}`);
    for (const [table, tableRows] of Object.entries(result.value)) rows[table] = [...(rows[table] ?? []), ...tableRows];
  });
}

export function defaultConcurrency(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * One index run over a root: scan -> decode once -> analyzers -> catalog.
 * Resumable: work is taken from the catalog (pending or stale assets), so a killed run
 * picks up where it stopped and never redoes a finished image.
 */
export async function indexRoot(catalog: Catalog, options: IndexOptions = {}): Promise<IndexSummary> {
  const started = performance.now();
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const interval = options.progressIntervalMs ?? 200;

  options.onProgress?.({ phase: 'scan', done: 0, total: 0, failed: 0, current: null, rate: 0, etaSeconds: null });
  const scan: ScanResult = await scanRoot(catalog, {
    excludes: options.excludes ?? DEFAULT_EXCLUDES,
    gitignore: options.gitignore,
    signal: options.signal,
    onProgress: (seen) => options.onProgress?.({ phase: 'scan', done: seen, total: 0, failed: 0, current: null, rate: 0, etaSeconds: null }),
  });

  await updateReferences(catalog, scan.documents);

  const scanUpserts = [...scan.changes.moved.map((m) => m.id), ...scan.changes.touched.map((t) => t.id), ...scan.changes.changed.map((c) => c.id)];
  if (scanUpserts.length || scan.changes.removed.length) options.onAssetsChanged?.({ upserted: scanUpserts, removed: scan.changes.removed });

  // Models load after the scan is committed: a slow model load never delays seeing the files.
  const analyzers = options.analyzers ?? (await loadAnalyzersFor(catalog));
  // A thumbnail size other than the default is recorded like an analyzer version, so changing it
  // redoes the thumbnails (and nothing else).
  const versions: Record<string, number> = {
    ...analyzerVersions(analyzers),
    ...(limits.thumbSize === DEFAULT_THUMB_SIZE ? {} : { [THUMBNAIL_VERSION]: limits.thumbSize }),
  };
  const work = await catalog.assetsNeedingWork(versions);
  const tracker = new ProgressTracker(work.length);
  let lastReport = 0;
  const report = (current: string | null, force = false) => {
    const now = performance.now();
    if (!force && now - lastReport < interval) return;
    lastReport = now;
    options.onProgress?.(tracker.snapshot(current));
  };
  report(null, true);

  // A batching analyzer needs that many images in flight to fill its batches.
  const lanes = Math.max(options.concurrency ?? defaultConcurrency(), ...analyzers.map((a) => a.batchSize ?? 1));
  const { started: startedCount } = await runBounded(
    work,
    lanes,
    async (item) => {
      report(item.relPath);
      try {
        // An image whose other facts are current gets only the analyzers it lacks (none: one was turned off).
        const stale = item.status === 'ok' ? staleAnalyzers(analyzers, item.versions) : null;
        const thumbStale = (item.versions[THUMBNAIL_VERSION] ?? DEFAULT_THUMB_SIZE) !== limits.thumbSize;
        const image = stale?.length === 0 && !thumbStale ? null : await decodeImage(join(catalog.root, item.relPath), item.relPath, limits);
        if (stale && (image === null || image.contentHash === item.contentHash)) {
          const rows: AnalyzerRows = {};
          if (image) await runAnalyzers(stale, image, rows, options.signal);
          const thumb = image && thumbStale ? await writeThumbnail(image, catalog.thumbsDir, limits.thumbSize) : undefined;
          await catalog.updateAnalysis(item.id, versions, stale.flatMap((a) => a.owns ?? []), rows, thumb);
          tracker.done++;
          options.onAssetsChanged?.({ upserted: [item.id], removed: [] });
          report(item.relPath);
          return;
        }
        if (!image) throw new Error('unreachable: an image with stale facts was not decoded');
        const thumb = await writeThumbnail(image, catalog.thumbsDir, limits.thumbSize);
        const rows: AnalyzerRows = {};
        await runAnalyzers(analyzers, image, rows, options.signal);
        await catalog.completeAsset(
          item.id,
          {
            contentHash: image.contentHash,
            format: image.format,
            width: image.width,
            height: image.height,
            size: image.size,
            mtimeMs: image.mtimeMs,
            takenAt: image.exif.takenAt,
            cameraMake: image.exif.cameraMake,
            cameraModel: image.exif.cameraModel,
            orientation: image.orientation,
            gpsLat: image.exif.gpsLat,
            gpsLon: image.exif.gpsLon,
            thumb,
          },
          versions,
          rows,
        );
      } catch (err) {
        tracker.failed++;
        const fileErr = err instanceof FileError ? err : new FileError('decode_failed', errorMessage(err));
        await catalog.failAsset(item.id, fileErr.code, fileErr.message);
      }
      tracker.done++;
      options.onAssetsChanged?.({ upserted: [item.id], removed: [] });
      report(item.relPath);
    },
    options.signal,
  );

  const cancelled = options.signal?.aborted === true && startedCount < work.length;
  const durationMs = performance.now() - started;
  const final = tracker.snapshot(null, 'done');
  options.onProgress?.(final);
  return {
    scan: {
      filesSeen: scan.filesSeen,
      unchanged: scan.unchanged,
      added: scan.changes.added.length,
      changed: scan.changes.changed.length,
      moved: scan.changes.moved.length,
      removed: scan.changes.removed.length,
      durationMs: scan.durationMs,
    },
    processed: tracker.done,
    failed: tracker.failed,
    cancelled,
    durationMs,
    imagesPerSecond: tracker.done > 0 ? tracker.done / (durationMs / 1000) : 0,
  };
}
