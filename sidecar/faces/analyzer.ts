import type { AnalyzerRows } from '../catalog/types';
import type { DecodedImage } from '../decode/decode';
import type { Analyzer } from '../pipeline/analyzer';
import { laplacianVariance, warpAligned } from './align';
import type { FaceEmbedder } from './embedder';
import type { DetectOptions, Detection, YuNetDetector } from './yunet';

export const FACES_ANALYZER = 'faces';
export const FACES_ANALYZER_VERSION = 1;

/**
 * Which faces are good enough to group into people. Smaller, blurrier or less certain faces are
 * still stored and shown (and can be named by hand), but never drive grouping: tiny blurry faces
 * embed close to each other whoever they are (cosine 0.65-0.76 between different people's
 * 20-px background faces in LFW), so they would glue unrelated people together.
 */
export interface FaceQualityRules {
  /** Detector confidence (detection itself stops at 0.7). */
  minScore: number;
  /** Short side of the box in working-image pixels: what the embedder actually saw. */
  minSize: number;
  /** Contrast-normalised Laplacian variance of the aligned crop (see laplacianVariance). */
  minSharpness: number;
}

export const DEFAULT_QUALITY: FaceQualityRules = { minScore: 0.75, minSize: 24, minSharpness: 25 };

/** Faces embedded per image at most (the largest); the rest are stored without an embedding. */
export const MAX_EMBEDDED_FACES = 48;

export interface AnalyzedFace {
  /** Box and landmarks in full-image pixels, after EXIF rotation (as the photo is displayed). */
  box: { x: number; y: number; w: number; h: number };
  landmarks: Array<[number, number]>;
  score: number;
  sharpness: number;
  /** Short side of the box in working-image pixels. */
  size: number;
  usable: boolean;
  embedding: Float32Array | null;
}

/** A list literal DuckDB casts to FLOAT[] / DOUBLE[] on insert; nine significant digits round-trip a float32. */
export function listLiteral(v: ArrayLike<number>, digits = 9): string {
  const parts = new Array<string>(v.length);
  for (let i = 0; i < v.length; i++) parts[i] = v[i] === 0 ? '0' : Number(v[i].toPrecision(digits)).toString();
  return `[${parts.join(',')}]`;
}

export interface FaceAnalyzerOptions {
  detect?: DetectOptions;
  quality?: Partial<FaceQualityRules>;
  /** Per-root switch (the user turned faces off): the analyzer then records no faces, without changing its version. */
  isEnabled?: () => boolean;
}

/** Detects, aligns and embeds the faces of one decoded working image. */
export async function analyzeFaces(
  image: DecodedImage,
  detector: YuNetDetector,
  embedder: FaceEmbedder,
  options: FaceAnalyzerOptions = {},
): Promise<AnalyzedFace[]> {
  const rules = { ...DEFAULT_QUALITY, ...options.quality };
  const detections: Detection[] = await detector.detect(image, options.detect);
  const sx = image.width / image.rgbWidth;
  const sy = image.height / image.rgbHeight;
  const bySize = [...detections.keys()].sort((a, b) => detections[b].w * detections[b].h - detections[a].w * detections[a].h);
  const embedSet = new Set(bySize.slice(0, MAX_EMBEDDED_FACES));
  const out: AnalyzedFace[] = [];
  for (const [i, d] of detections.entries()) {
    const size = Math.min(d.w, d.h);
    let embedding: Float32Array | null = null;
    let sharpness = 0;
    if (embedSet.has(i)) {
      const crop = warpAligned(image, d.landmarks);
      sharpness = laplacianVariance(crop);
      embedding = await embedder.embed(crop);
    }
    const x0 = Math.max(0, d.x), y0 = Math.max(0, d.y);
    const x1 = Math.min(image.rgbWidth, d.x + d.w), y1 = Math.min(image.rgbHeight, d.y + d.h);
    out.push({
      box: { x: x0 * sx, y: y0 * sy, w: (x1 - x0) * sx, h: (y1 - y0) * sy },
      landmarks: d.landmarks.map(([x, y]) => [x * sx, y * sy] as [number, number]),
      score: d.score,
      sharpness,
      size,
      usable: embedding !== null && d.score >= rules.minScore && size >= rules.minSize && sharpness >= rules.minSharpness,
      embedding,
    });
  }
  return out;
}

/**
 * The `faces` analyzer (YuNet + MobileFaceNet) on the decode-once working image. Rows:
 * faces(asset_id, face_index, x, y, w, h, landmarks, score, sharpness, size, usable, embedding);
 * `id` comes from a sequence, and the people columns (person_id, status, confidence) are left
 * NULL for FaceLibrary.update() to fill in.
 */
export function createFaceAnalyzer(detector: YuNetDetector, embedder: FaceEmbedder, options: FaceAnalyzerOptions = {}): Analyzer {
  return {
    name: FACES_ANALYZER,
    version: FACES_ANALYZER_VERSION,
    owns: [{ table: 'faces' }],
    // Not cut short by the run's abort signal: an in-flight image is finished, like every analyzer's.
    async analyze(image: DecodedImage): Promise<AnalyzerRows> {
      if (options.isEnabled && !options.isEnabled()) return { faces: [] };
      const faces = await analyzeFaces(image, detector, embedder, options);
      return {
        faces: faces.map((f, i) => ({
          face_index: i,
          x: f.box.x,
          y: f.box.y,
          w: f.box.w,
          h: f.box.h,
          landmarks: listLiteral(f.landmarks.flat(), 7),
          score: f.score,
          sharpness: f.sharpness,
          size: f.size,
          usable: f.usable,
          embedding: f.embedding ? listLiteral(f.embedding) : null,
        })),
      };
    },
  };
}
