import type { Analyzer } from '../../pipeline/analyzer';
import { defaultIntraOpThreads } from '../../faces/onnx';
import { errorMessage } from '../../util/errors';
import { createOcrAnalyzer } from './analyzer';
import { TextDetector } from './detector';
import { OcrEngine, type OcrOptions } from './engine';
import { readCharset, resolveOcrModels, type ResolveOcrModelsOptions } from './models';
import { TextRecognizer } from './recognizer';

export interface LoadOcrOptions extends ResolveOcrModelsOptions {
  intraOpThreads?: number;
  engine?: Partial<OcrOptions>;
  /** Told once per distinct reason why OCR is off. Default: one line on stderr. */
  onUnavailable?: (message: string) => void;
}

const shared = new Map<string, Promise<OcrEngine>>();
const told = new Set<string>();

/** One engine (detector + recogniser sessions) per model set and thread count, shared by the process. */
export function loadOcrEngine(options: LoadOcrOptions = {}): Promise<OcrEngine> {
  let paths;
  try {
    paths = resolveOcrModels(options);
  } catch (err) {
    return Promise.reject(err);
  }
  const threads = options.intraOpThreads ?? defaultIntraOpThreads();
  const key = `${paths.det}\u0000${paths.rec}\u0000${paths.dict}\u0000${threads}\u0000${JSON.stringify(options.engine ?? {})}`;
  let engine = shared.get(key);
  if (!engine) {
    engine = (async () => {
      const detector = new TextDetector(paths.det, threads);
      const recognizer = new TextRecognizer(paths.rec, readCharset(paths.dict), threads);
      await detector.load();
      await recognizer.load();
      return new OcrEngine(detector, recognizer, options.engine);
    })();
    shared.set(key, engine);
    engine.catch(() => shared.delete(key));
  }
  return engine;
}

/** The `ocr` analyzer if its models resolve and load; otherwise null after one note, so indexing goes on without text. */
export async function loadOcrAnalyzer(options: LoadOcrOptions = {}): Promise<Analyzer | null> {
  try {
    return createOcrAnalyzer(await loadOcrEngine(options));
  } catch (err) {
    const message = `text in images (OCR) is off: the OCR models are not available (${errorMessage(err)})`;
    if (!told.has(message)) {
      told.add(message);
      (options.onUnavailable ?? ((m: string) => process.stderr.write(`loupe: ${m}\n`)))(message);
    }
    return null;
  }
}
