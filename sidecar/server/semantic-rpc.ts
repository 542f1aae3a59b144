import { modelDownloadBytes } from '../models/manifest';
import { ModelResolver } from '../models/resolver';
import { LoupeErrorCodes, loupeError, type SemanticEnableResult, type SemanticStatusResult } from '../protocol';
import { isClipEntry, saveSelectedClipModel, selectedClipModel, semanticState } from '../semantic/load';
import { embeddedCount } from '../semantic/semantic-search';
import { errorMessage } from '../util/errors';
import type { RootService } from './root-service';

const MULTILINGUAL_NOTE = 'queries in English only: the CLIP models offered are not multilingual';

/** `semantic/status`: the chosen model, whether it is here, and how far each root is embedded. */
export async function semanticStatus(roots: RootService[], resolver = new ModelResolver()): Promise<SemanticStatusResult> {
  const state = await semanticState(resolver);
  const enabled = state.downloaded && state.problem === null;
  const perRoot = await Promise.all(
    roots.map(async (r) => ({ root: r.root, images: (await r.status()).images, embedded: enabled ? await embeddedCount(r.catalog, state.modelId) : 0 })),
  );
  const models = await Promise.all(
    resolver.manifest.models.filter(isClipEntry).map(async (entry) => {
      const pre = entry.preprocessing as { averageRecall?: number; multilingual?: boolean };
      return {
        id: entry.id,
        name: entry.name,
        bytes: modelDownloadBytes(entry),
        downloaded: (await semanticState(resolver, entry.id)).downloaded,
        averageRecall: typeof pre.averageRecall === 'number' ? pre.averageRecall : null,
        multilingual: pre.multilingual === true,
      };
    }),
  );
  let note: string | null = MULTILINGUAL_NOTE;
  if (state.problem) note = `semantic search is off: ${state.problem}`;
  else if (!state.downloaded) note = `semantic search is off: enabling it downloads about ${Math.round(state.bytesToDownload / 1e6)} MB; search uses file names and the other signals until then`;
  return {
    enabled,
    modelId: state.modelId,
    modelName: state.modelName,
    downloaded: state.downloaded,
    bytesToDownload: state.bytesToDownload,
    note,
    roots: perRoot,
    models,
  };
}

export interface EnableOptions {
  signal?: AbortSignal;
  /** Work-done progress values ({ kind: begin | report | end }). */
  progress?: (value: unknown) => void;
  resolver?: ModelResolver;
}

/**
 * `semantic/enable`: downloads the model's missing files (sha256-checked, resumable), makes it the
 * chosen model, and starts an index run on every root to embed the images.
 */
export async function enableSemantic(roots: RootService[], model: string | undefined, options: EnableOptions = {}): Promise<SemanticEnableResult> {
  const resolver = options.resolver ?? new ModelResolver();
  const modelId = model ?? selectedClipModel();
  const entry = resolver.manifest.models.find((m) => m.id === modelId);
  if (!entry || !isClipEntry(entry)) {
    const known = resolver.manifest.models.filter(isClipEntry).map((m) => m.id).join(', ');
    throw loupeError(LoupeErrorCodes.InvalidParams, `"${modelId}" is not a CLIP model; choose one of: ${known}`);
  }
  const before = await semanticState(resolver, modelId);
  const total = before.bytesToDownload;
  const progress = options.progress ?? (() => undefined);
  progress({ kind: 'begin', title: `Loupe: downloading ${entry.name} (${Math.round(total / 1e6)} MB)`, cancellable: true, percentage: 0 });
  const done = new Map<string, number>();
  let downloadedBytes = 0;
  let lastReport = 0;
  try {
    await resolver.resolve(modelId, {
      download: true,
      signal: options.signal,
      onProgress: (file, p) => {
        done.set(file.path, p.received);
        downloadedBytes = [...done.values()].reduce((a, b) => a + b, 0);
        const now = Date.now();
        if (now - lastReport < 200 && p.received !== p.total) return;
        lastReport = now;
        progress({
          kind: 'report',
          message: `${(downloadedBytes / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(0)} MB`,
          percentage: total > 0 ? Math.min(100, Math.floor((100 * downloadedBytes) / total)) : undefined,
        });
      },
    });
  } catch (err) {
    progress({ kind: 'end', message: options.signal?.aborted ? 'cancelled' : 'failed' });
    if (options.signal?.aborted) throw loupeError(LoupeErrorCodes.RequestCancelled, `download of ${modelId} cancelled; run semantic/enable again to resume`);
    throw loupeError(LoupeErrorCodes.DownloadFailed, errorMessage(err));
  }
  progress({ kind: 'end', message: 'semantic search enabled' });
  await saveSelectedClipModel(modelId);
  for (const r of roots) {
    r.semantic.reset();
    r.semantic.currentModel().catch(() => undefined); // load it and open its index now, not on the first query
  }
  for (const r of roots) r.requestRun('semantic search enabled');
  return { modelId, downloadedBytes, started: roots.map((r) => r.root) };
}
