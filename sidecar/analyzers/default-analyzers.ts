import type { Analyzer } from '../pipeline/analyzer';
import type { Catalog } from '../catalog/catalog';
import { loadFaceAnalyzer } from '../faces/load';
import { facesEnabled } from '../faces/library';
import { loadMobileNetAnalyzer, type LoadMobileNetOptions } from './mobilenet/load';
import { analyzerEnabled } from './enabled';
import { loadOcrAnalyzer } from './ocr/load';
import { pdqAnalyzer } from './pdq-analyzer';
import { loadClipModel } from '../semantic/load';
import { createClipAnalyzer } from '../semantic/analyzer';
import { colourAnalyzer } from './colour-analyzer';
import { loadObjectAnalyzer } from './objects/load';

/** The analyzers that need no model file. Later issues add theirs here. */
export function defaultAnalyzers(): Analyzer[] {
  return [pdqAnalyzer, colourAnalyzer];
}

/**
 * What an index run uses unless told otherwise: `defaultAnalyzers()` plus every model-backed
 * analyzer whose model resolves (LOUPE_MODELS_DIR, the cache, or a verified download). A model
 * that cannot be had leaves its analyzer out, with one note, instead of failing every image.
 */
export async function loadDefaultAnalyzers(options: LoadMobileNetOptions = {}): Promise<Analyzer[]> {
  // Colours are tags too: the editor's "tags" setting turns them off with the models.
  const analyzers = defaultAnalyzers().filter((a) => a !== colourAnalyzer || analyzerEnabled('tags'));
  if (analyzerEnabled('tags')) {
    const mobilenet = await loadMobileNetAnalyzer(options);
    if (mobilenet) analyzers.push(mobilenet);
    const objects = await loadObjectAnalyzer(options);
    if (objects) analyzers.push(objects);
  }
  return analyzers;
}

/**
 * The analyzers for one root: the defaults, OCR (its models come with the npm package; off with a
 * note if they are missing), and face detection, which the user can turn off per root (then it
 * records no faces without changing its version).
 */
export async function loadAnalyzersFor(catalog: Catalog): Promise<Analyzer[]> {
  const analyzers = await loadDefaultAnalyzers();
  if (analyzerEnabled('ocr')) {
    const ocr = await loadOcrAnalyzer();
    if (ocr) analyzers.push(ocr);
  }
  if (analyzerEnabled('faces')) {
    const enabled = await facesEnabled(catalog);
    const faces = await loadFaceAnalyzer({ isEnabled: () => enabled });
    if (faces) analyzers.push(faces);
  }
  if (analyzerEnabled('clip')) {
    // CLIP only when the user downloaded it (semantic/enable, `loupe models fetch`): never fetched here.
    const clip = await loadClipModel({ onProblem: (m) => process.stderr.write(`loupe: ${m}\n`) });
    if (clip) analyzers.push(createClipAnalyzer(clip));
  }
  return analyzers;
}
