import type { Analyzer } from '../../pipeline/analyzer';
import { ModelResolver } from '../../models/resolver';
import { errorMessage } from '../../util/errors';
import { createObjectAnalyzer } from './analyzer';
import { YOLOX_MODEL_ID, Yolox } from './yolox';

export interface LoadObjectsOptions {
  resolver?: ModelResolver;
  download?: boolean;
  timeoutMs?: number;
  onUnavailable?: (message: string) => void;
}

const RETRY_AFTER_MS = 10 * 60 * 1000;
const failures = new Map<string, number>();
const told = new Set<string>();
const models = new Map<string, Yolox>();

/** One Yolox session per model file for the whole process. */
export function sharedYolox(path: string): Yolox {
  let m = models.get(path);
  if (!m) models.set(path, (m = new Yolox(path)));
  return m;
}

/**
 * The `objects` analyzer if the YOLOX-Nano model resolves and loads; otherwise null after one
 * note (indexing goes on without object tags). Failures are remembered for a while.
 */
export async function loadObjectAnalyzer(options: LoadObjectsOptions = {}): Promise<Analyzer | null> {
  const resolver = options.resolver ?? new ModelResolver();
  const key = `${resolver.modelsDir ?? ''}\u0000${resolver.cacheDir}`;
  const failedAt = failures.get(key);
  if (failedAt !== undefined && Date.now() - failedAt < RETRY_AFTER_MS) return null;
  try {
    const path = await resolver.resolveFile(YOLOX_MODEL_ID, undefined, {
      download: options.download ?? true,
      signal: AbortSignal.timeout(options.timeoutMs ?? 120_000),
    });
    const model = sharedYolox(path);
    await model.load();
    failures.delete(key);
    return createObjectAnalyzer(model);
  } catch (err) {
    const message = `object tags are off: the ${YOLOX_MODEL_ID} model is not available (${errorMessage(err)})`;
    failures.set(key, Date.now());
    if (!told.has(message)) {
      told.add(message);
      (options.onUnavailable ?? ((m: string) => process.stderr.write(`loupe: ${m}\n`)))(message);
    }
    return null;
  }
}
