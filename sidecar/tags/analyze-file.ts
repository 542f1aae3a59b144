/**
 * Tags and image embedding of one file that need not be in any catalog (`loupe tags <file>`,
 * `loupe similar <dir> <file outside it>`): decode once, run the given analyzers, read their rows
 * the way the catalog would store them.
 */
import { basename } from 'node:path';
import type { AnalyzerRows } from '../catalog/types';
import { decodeImage } from '../decode/decode';
import type { Analyzer } from '../pipeline/analyzer';
import { MOBILENET_EMBEDDING } from '../analyzers/mobilenet/analyzer';
import { imageTags, type ImageTag, type TagRows } from './image-tags';
import { tagVocabulary } from './vocabulary';

export interface FileAnalysis {
  tags: ImageTag[];
  /** The raw MobileNetV2 embedding, or null without that analyzer. */
  embedding: Float32Array | null;
}

export function tagRowsOf(rows: AnalyzerRows): TagRows {
  return {
    labels: (rows.image_labels ?? []).map((r) => ({ classIndex: Number(r.class_index), score: Number(r.score) })),
    objects: (rows.image_objects ?? []).map((r) => ({ classIndex: Number(r.class_index), score: Number(r.score) })),
    colours: (rows.image_colours ?? []).map((r) => ({ colour: String(r.colour), share: Number(r.share) })),
  };
}

export async function analyzeFile(absPath: string, analyzers: readonly Analyzer[], signal = new AbortController().signal): Promise<FileAnalysis> {
  const image = await decodeImage(absPath, basename(absPath));
  const rows: AnalyzerRows = {};
  for (const a of analyzers) Object.assign(rows, await a.analyze(image, signal));
  const emb = (rows.image_embeddings ?? []).find((r) => r.model === MOBILENET_EMBEDDING);
  return {
    tags: imageTags(tagVocabulary(), tagRowsOf(rows)),
    embedding: emb ? Float32Array.from(JSON.parse(String(emb.vector)) as number[]) : null,
  };
}
