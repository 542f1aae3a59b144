import type { Analyzer } from '../pipeline/analyzer';
import { ModelResolver } from '../models/resolver';
import { errorMessage } from '../util/errors';
import { createFaceAnalyzer, type FaceAnalyzerOptions } from './analyzer';
import { FaceEmbedder, MOBILEFACENET_MODEL_ID } from './embedder';
import { defaultIntraOpThreads } from './onnx';
import { YUNET_DYNAMIC_MODEL_ID, YUNET_FIXED_MODEL_ID, YuNetDetector } from './yunet';

export interface FaceModels {
  detector: YuNetDetector;
  embedder: FaceEmbedder;
}

export interface LoadFaceModelsOptions {
  resolver?: ModelResolver;
  /** Download the models if they are neither in LOUPE_MODELS_DIR nor in the cache (default true). */
  download?: boolean;
  /** Gives up on a download after this long (default 120 s). */
  timeoutMs?: number;
  intraOpThreads?: number;
}

const shared = new Map<string, Promise<FaceModels>>();

async function resolveModels(options: LoadFaceModelsOptions): Promise<FaceModels> {
  const resolver = options.resolver ?? new ModelResolver();
  const resolveOptions = { download: options.download ?? true, signal: AbortSignal.timeout(options.timeoutMs ?? 120_000) };
  const threads = options.intraOpThreads ?? defaultIntraOpThreads();
  let detector: YuNetDetector;
  try {
    detector = new YuNetDetector(await resolver.resolveFile(YUNET_DYNAMIC_MODEL_ID, undefined, resolveOptions), true, threads);
  } catch (dynamicErr) {
    // The fixed 640x640 export (same weights) works too, in tiles.
    try {
      detector = new YuNetDetector(await resolver.resolveFile(YUNET_FIXED_MODEL_ID, undefined, resolveOptions), false, threads);
    } catch {
      throw dynamicErr;
    }
  }
  const embedder = new FaceEmbedder(await resolver.resolveFile(MOBILEFACENET_MODEL_ID, undefined, resolveOptions), threads);
  await detector.load();
  await embedder.load();
  return { detector, embedder };
}

/**
 * The face models (one detector and one embedder session per model folder and thread count,
 * shared by the whole process). Rejects with the resolver's message when a model is missing.
 */
export function loadFaceModels(options: LoadFaceModelsOptions = {}): Promise<FaceModels> {
  const resolver = options.resolver ?? new ModelResolver();
  const key = `${resolver.modelsDir ?? ''}\u0000${resolver.cacheDir}\u0000${options.intraOpThreads ?? defaultIntraOpThreads()}`;
  let models = shared.get(key);
  if (!models) {
    models = resolveModels({ ...options, resolver });
    shared.set(key, models);
    models.catch(() => shared.delete(key));
  }
  return models;
}

export interface LoadFaceAnalyzerOptions extends LoadFaceModelsOptions, FaceAnalyzerOptions {
  /** Told once per distinct reason why the analyzer is off. Default: one line on stderr. */
  onUnavailable?: (message: string) => void;
}

const told = new Set<string>();
/** After a failure, index runs in the same process do not try again before this long. */
const RETRY_AFTER_MS = 10 * 60 * 1000;
const failures = new Map<string, number>();

/**
 * The `faces` analyzer if its models resolve (configured folder, cache, or a verified download)
 * and load; otherwise null after one clear note, so indexing goes on without faces. A failure is
 * remembered for a while per model location, so every index run does not retry the network.
 */
export async function loadFaceAnalyzer(options: LoadFaceAnalyzerOptions = {}): Promise<Analyzer | null> {
  const resolver = options.resolver ?? new ModelResolver();
  const key = `${resolver.modelsDir ?? ''}\u0000${resolver.cacheDir}`;
  const failedAt = failures.get(key);
  if (failedAt !== undefined && Date.now() - failedAt < RETRY_AFTER_MS) return null;
  try {
    const { detector, embedder } = await loadFaceModels({ ...options, resolver });
    failures.delete(key);
    return createFaceAnalyzer(detector, embedder, options);
  } catch (err) {
    failures.set(key, Date.now());
    const message = `faces and people are off: the face models are not available (${errorMessage(err)})`;
    if (!told.has(message)) {
      told.add(message);
      (options.onUnavailable ?? ((m: string) => process.stderr.write(`loupe: ${m}\n`)))(message);
    }
    return null;
  }
}
