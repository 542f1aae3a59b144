/**
 * Baseline for the faces benchmark: @vladmandic/face-api (its own SSD MobileNet v1 detector,
 * 68-point landmarks and 128-d face descriptor, TensorFlow.js on the WASM backend, the models
 * that ship inside the npm package) run on the same lfw10 photos as Loupe, scored the same way.
 *
 * Images are decoded with sharp into RGB tensors (no canvas). The timed part per photo is
 * detectAllFaces().withFaceLandmarks().withFaceDescriptors() on an already decoded tensor, as
 * Loupe's cost bench times analyzeFaces() on an already decoded image.
 *
 * `groupingComparison` scores any set of per-photo faces (Loupe's or face-api's) with the same
 * clustering (Loupe's densityCluster with DEFAULT_PEOPLE_PARAMS over cosine similarity of
 * L2-normalised vectors, plus an eps sweep) and the same BCubed / pairwise scoring.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { densityCluster, knnGraph, type Clustering } from '../../sidecar/faces/cluster';
import { DEFAULT_PEOPLE_PARAMS } from '../../sidecar/faces/library';
import { scoreClustering, type ClusterScores } from '../../sidecar/faces/metrics';
import { round, stats } from './common';

type FaceApi = typeof import('@vladmandic/face-api/dist/face-api.node-wasm.js');

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** One detected face of one photo, from either system. */
export interface ComparableFace {
  /** `<Person>/<file>.jpg`; the folder is the identity. */
  photo: string;
  box: Box;
  width: number;
  height: number;
  score: number;
  /** Whether the system would group this face at all (Loupe's quality gate; face-api: always). */
  usable: boolean;
  vector: Float32Array | null;
}

/** The labelled face of an LFW-style photo, same rule as faces.ts: centred and large. */
export function isCentred(box: Box, width: number, height: number): boolean {
  const cx = (box.x + box.w / 2) / width - 0.5;
  const cy = (box.y + box.h / 2) / height - 0.5;
  return Math.hypot(cx, cy) < 0.12 && box.w > 0.2 * width;
}

function centreDistance(f: ComparableFace): number {
  return Math.hypot((f.box.x + f.box.w / 2) / f.width - 0.5, (f.box.y + f.box.h / 2) / f.height - 0.5);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function unit(v: Float32Array): Float32Array {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  n = Math.sqrt(n) || 1;
  return Float32Array.from(v, (x) => x / n);
}

function summary(s: ClusterScores) {
  return {
    bcubedF1: round(s.bcubed.f1),
    bcubedPrecision: round(s.bcubed.precision),
    bcubedRecall: round(s.bcubed.recall),
    pairwisePrecision: round(s.pairwise.precision),
    pairwiseRecall: round(s.pairwise.recall),
    pairwiseF1: round(s.pairwise.f1),
    items: s.items,
    groups: s.groups,
    ungrouped: s.ungrouped,
  };
}

/** Plain single-link union of every pair closer than `threshold` (Euclidean, raw vectors), no constraints. */
function thresholdUnion(vectors: readonly Float32Array[], threshold: number): Clustering {
  const n = vectors.length;
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) x = parent[x] = parent[parent[x]];
    return x;
  };
  const t2 = threshold * threshold;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let d = 0;
      for (let k = 0; k < vectors[i].length; k++) {
        const e = vectors[i][k] - vectors[j][k];
        d += e * e;
      }
      if (d < t2) parent[find(i)] = find(j);
    }
  }
  const size = new Map<number, number>();
  for (let i = 0; i < n; i++) size.set(find(i), (size.get(find(i)) ?? 0) + 1);
  const number = new Map<number, number>();
  const labels = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const r = find(i);
    if (size.get(r)! < 2) continue;
    if (!number.has(r)) number.set(r, number.size);
    labels[i] = number.get(r)!;
  }
  return { labels, strength: new Float32Array(n), count: number.size };
}

export const EPS_SWEEP = [0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75];

export interface GroupingOptions {
  /** Also run the plain Euclidean-threshold union on the raw (not normalised) vectors. */
  euclideanThreshold?: number;
}

/**
 * Clusters every usable face (bystanders included, as distractors) and scores two ways:
 *  - labelled: only faces passing isCentred() are scored (the rule of the rest of faces.ts);
 *  - perPhoto: every photo is one scored item, its most central detected face (ties: largest);
 *    a photo with no face, or whose chosen face is not usable, counts as an ungrouped singleton.
 */
export function groupingComparison(faces: readonly ComparableFace[], photos: readonly string[], options: GroupingOptions = {}) {
  const pool = faces.filter((f) => f.usable && f.vector);
  const raw = pool.map((f) => f.vector!);
  const vectors = raw.map(unit);
  const photoIndex = new Map(photos.map((p, i) => [p, i]));
  const asset = pool.map((f) => photoIndex.get(f.photo) ?? -1);
  const p = DEFAULT_PEOPLE_PARAMS;
  const graph = knnGraph(vectors, p.knn);

  const labelled = pool.map((f, i) => (isCentred(f.box, f.width, f.height) ? i : -1)).filter((i) => i >= 0);
  const labelledTruth = labelled.map((i) => pool[i].photo.split('/')[0]);
  const poolIndex = new Map(pool.map((f, i) => [f, i]));
  const chosen = photos.map((photo) => {
    const mine = faces.filter((f) => f.photo === photo);
    if (mine.length === 0) return -1;
    mine.sort((a, b) => centreDistance(a) - centreDistance(b) || b.box.w * b.box.h - a.box.w * a.box.h);
    return poolIndex.get(mine[0]) ?? -1;
  });
  const photoTruth = photos.map((ph) => ph.split('/')[0]);

  const score = (c: Clustering) => ({
    labelled: scoreClustering(labelled.map((i) => c.labels[i]), labelledTruth),
    perPhoto: scoreClustering(chosen.map((i) => (i < 0 ? -1 : c.labels[i])), photoTruth),
  });
  const both = (c: Clustering) => {
    const s = score(c);
    return { labelled: summary(s.labelled), perPhoto: summary(s.perPhoto) };
  };

  const sweep = EPS_SWEEP.map((eps) => ({ eps, ...score(densityCluster(graph, { ...p, eps }, { asset }, vectors)) }));
  const best = (k: 'labelled' | 'perPhoto') => sweep.reduce((a, b) => (b[k].bcubed.f1 > a[k].bcubed.f1 ? b : a));
  const bestLabelled = best('labelled');
  const bestPerPhoto = best('perPhoto');

  const out = {
    faces: faces.length,
    usableFaces: pool.length,
    labelledFaces: labelled.length,
    photos: photos.length,
    photosWithAGroupableChosenFace: chosen.filter((i) => i >= 0).length,
    loupeClusteringDefaultEps: { eps: p.eps, ...both(densityCluster(graph, p, { asset }, vectors)) },
    loupeClusteringBestEps: {
      note: 'oracle: the eps (cosine distance) of the sweep with the best BCubed F1 on the scored faces',
      labelled: { eps: bestLabelled.eps, ...summary(bestLabelled.labelled) },
      perPhoto: { eps: bestPerPhoto.eps, ...summary(bestPerPhoto.perPhoto) },
    },
    epsSweepBcubedF1: Object.fromEntries(sweep.map((s) => [s.eps.toFixed(2), { labelled: round(s.labelled.bcubed.f1), perPhoto: round(s.perPhoto.bcubed.f1) }])),
    euclideanUnion: undefined as undefined | { threshold: number; labelled: ReturnType<typeof summary>; perPhoto: ReturnType<typeof summary> },
  };
  if (options.euclideanThreshold !== undefined) {
    const t = options.euclideanThreshold;
    // Loupe's clustering at the cosine distance that matches Euclidean t on unit vectors: 1 - cos = t^2 / 2.
    const eq = (t * t) / 2;
    Object.assign(out, {
      loupeClusteringAtEuclideanEquivalentEps: { eps: round(eq, 4), ...both(densityCluster(graph, { ...p, eps: eq }, { asset }, vectors)) },
    });
    out.euclideanUnion = { threshold: t, ...both(thresholdUnion(raw, t)) };
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

export interface FaceApiBaselineOptions {
  /** Folder of `<Person>/*.jpg`. */
  root: string;
  /** Timed runs per photo (median taken); default 1. */
  repeats?: number;
  /** Untimed runs before timing; default 5. */
  warmup?: number;
  /** SSD MobileNet v1 minimum confidence; default 0.5 (face-api's default). */
  minConfidence?: number;
}

export type FaceApiBaselineResult =
  | { status: 'failed'; reason: string; stage: string }
  | ({ status: 'ok' } & Record<string, unknown> & { faces: ComparableFace[]; photos: string[] });

function listPhotos(root: string): string[] {
  const out: string[] = [];
  for (const person of readdirSync(root).sort()) for (const f of readdirSync(join(root, person)).sort()) out.push(`${person}/${f}`);
  return out;
}

/**
 * Runs face-api on every photo under `root`. Never throws: a failure is returned with the stage
 * it happened at and the exact error, so the faces bench can record it and carry on.
 */
export async function runFaceApiBaseline(options: FaceApiBaselineOptions): Promise<FaceApiBaselineResult> {
  const repeats = options.repeats ?? 1;
  const warmup = options.warmup ?? 5;
  const minConfidence = options.minConfidence ?? 0.5;
  let stage = 'load @vladmandic/face-api (dist/face-api.node-wasm.js)';
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
    const tf = faceapi.tf;
    // The same module instance face-api's node-wasm bundle requires; typed fully for the backend calls.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const tfjs = require('@tensorflow/tfjs') as typeof import('@tensorflow/tfjs');
    stage = 'initialise the tfjs wasm backend';
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void; version_wasm?: string };
    wasm.setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
    if (!(await tfjs.setBackend('wasm'))) throw new Error('tfjs.setBackend("wasm") returned false');
    await tfjs.ready();
    const backend = tfjs.getBackend();
    const simd = await tfjs.env().getAsync('WASM_HAS_SIMD_SUPPORT');
    const multithread = await tfjs.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');

    stage = 'load the models shipped in the package';
    const modelDir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
    const tl = performance.now();
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(modelDir);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(modelDir);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(modelDir);
    const modelLoadMs = performance.now() - tl;

    stage = 'decode photos with sharp';
    const photos = listPhotos(options.root);
    const decoded: Array<{ photo: string; width: number; height: number; rgb: Uint8Array }> = [];
    for (const photo of photos) {
      const { data, info } = await sharp(join(options.root, photo)).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== 3) throw new Error(`${photo}: ${info.channels} channels after removeAlpha`);
      decoded.push({ photo, width: info.width, height: info.height, rgb: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
    }

    stage = 'detect + landmarks + descriptors';
    const detectorOptions = new faceapi.SsdMobilenetv1Options({ minConfidence });
    const analyse = async (d: (typeof decoded)[number]) => {
      const input = tf.tensor3d(d.rgb, [d.height, d.width, 3], 'int32');
      try {
        return await faceapi.detectAllFaces(input, detectorOptions).withFaceLandmarks().withFaceDescriptors();
      } finally {
        input.dispose();
      }
    };
    for (let i = 0; i < Math.min(warmup, decoded.length); i++) await analyse(decoded[i]);

    const faces: ComparableFace[] = [];
    const perPhoto: Array<{ photo: string; ms: number; cpuMs: number; faces: Array<{ x: number; y: number; w: number; h: number; score: number }> }> = [];
    for (const d of decoded) {
      const wall: number[] = [];
      const cpu: number[] = [];
      let result: Awaited<ReturnType<typeof analyse>> = [];
      for (let r = 0; r < repeats; r++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        result = await analyse(d);
        wall.push(performance.now() - t0);
        const c = process.cpuUsage(c0);
        cpu.push((c.user + c.system) / 1000);
      }
      const boxes = result.map((f) => {
        const b = f.detection.box;
        return { x: b.x, y: b.y, w: b.width, h: b.height, score: f.detection.score };
      });
      result.forEach((f, i) => {
        faces.push({ photo: d.photo, box: boxes[i], width: d.width, height: d.height, score: boxes[i].score, usable: true, vector: Float32Array.from(f.descriptor) });
      });
      perPhoto.push({
        photo: d.photo,
        ms: round(median(wall), 2),
        cpuMs: round(median(cpu), 2),
        faces: boxes.map((b) => ({ x: round(b.x, 1), y: round(b.y, 1), w: round(b.w, 1), h: round(b.h, 1), score: round(b.score, 3) })),
      });
    }
    const one = perPhoto.filter((p) => p.faces.length === 1);
    const norms = faces.map((f) => Math.hypot(...f.vector!));
    return {
      status: 'ok',
      package: '@vladmandic/face-api',
      version: faceapi.version,
      tfjs: tfjs.version_core,
      backend,
      wasmSimd: simd,
      wasmMultithread: multithread,
      detector: `SSD MobileNet v1 (minConfidence ${minConfidence}) + faceLandmark68Net + faceRecognitionNet (128-d)`,
      modelLoadMs: round(modelLoadMs, 0),
      repeatsPerPhoto: repeats,
      warmupPhotos: Math.min(warmup, decoded.length),
      msPerPhoto: stats(perPhoto.map((p) => p.ms), 2),
      cpuMsPerPhoto: stats(perPhoto.map((p) => p.cpuMs), 2),
      msPerOneFacePhoto: one.length ? stats(one.map((p) => p.ms), 2) : null,
      onePhotos: one.length,
      photosWithNoFace: perPhoto.filter((p) => p.faces.length === 0).length,
      facesPerPhoto: stats(perPhoto.map((p) => p.faces.length), 2),
      descriptorNorm: norms.length ? stats(norms, 4) : null,
      perPhoto,
      faces,
      photos,
    };
  } catch (err) {
    return { status: 'failed', stage, reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err) };
  }
}
