import type { Analyzer } from '../../pipeline/analyzer';
import { ModelResolver } from '../../models/resolver';
import { errorMessage } from '../../util/errors';
import { createMobileNetAnalyzer } from './analyzer';
import { MOBILENET_MODEL_ID, sharedMobileNet, type MobileNetOptions } from './model';
import { selfCheckOnce } from './self-check';

export interface LoadMobileNetOptions extends MobileNetOptions {
  resolver?: ModelResolver;
  /** Download the model if it is neither in LOUPE_MODELS_DIR nor in the cache (default true). */
  download?: boolean;
  /** Gives up on a download after this long (default 120 s). */
  timeoutMs?: number;
  /** Told once per distinct reason why the analyzer is off. Default: one line on stderr. */
  onUnavailable?: (message: string) => void;
}

/** After a failure, index runs in the same process do not try again before this long. */
const RETRY_AFTER_MS = 10 * 60 * 1000;

const failures = new Map<string, { at: number; message: string }>();
const told = new Set<string>();

function stderrNote(message: string): void {
  process.stderr.write(`loupe: ${message}\n`);
}

/**
 * The `mobilenet` analyzer if its model resolves (configured folder, cache, or a verified
 * download) and its session loads; otherwise null, after one clear note, so indexing goes on
 * without labels and embeddings (similar images then answer FeatureUnavailable). Failures are
 * remembered for a while per model location so every index run does not retry the network.
 */
export async function loadMobileNetAnalyzer(options: LoadMobileNetOptions = {}): Promise<Analyzer | null> {
  const resolver = options.resolver ?? new ModelResolver();
  const key = `${resolver.modelsDir ?? ''}\u0000${resolver.cacheDir}`;
  const failed = failures.get(key);
  if (failed && Date.now() - failed.at < RETRY_AFTER_MS) return null;
  try {
    const path = await resolver.resolveFile(MOBILENET_MODEL_ID, undefined, {
      download: options.download ?? true,
      signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
    });
    const model = sharedMobileNet(path, options);
    await model.load();
    // Known answers first: a model that gets them wrong would label every image wrongly.
    const check = await selfCheckOnce(model);
    if (!check.ok) throw new Error(`it failed its self-check (${check.problems.join('; ')})`);
    failures.delete(key);
    return createMobileNetAnalyzer(model);
  } catch (err) {
    const message = `image labels and similar images are off: the ${MOBILENET_MODEL_ID} model is not available (${errorMessage(err)})`;
    failures.set(key, { at: Date.now(), message });
    if (!told.has(message)) {
      told.add(message);
      (options.onUnavailable ?? stderrNote)(message);
    }
    return null;
  }
}
