/**
 * faces: face detection + embedding cost, grouping quality and people suggestions, at scale.
 *
 *  1. Cost: every LFW photo (lfw10, 250x250) and the Curie portrait go through the real
 *     decode-once pipeline (decodeImage), then analyzeFaces (YuNet detect + ArcFace alignment +
 *     MobileFaceNet) is timed on the working image; ms per one-face photo is the headline.
 *  2. Grouping, unsupervised: lfw10 indexed by the real pipeline into a scratch catalog; the
 *     FaceLibrary groups it (a) all at once, as on a first index, and (b) photo by photo in random
 *     orders (the incremental path). Pairwise precision/recall and BCubed F1 on the 100 labelled
 *     faces (LFW photos are centred on the named person; other faces are distractors).
 *  3. Method choice: Loupe's constrained DBSCAN* with an average-link guard against plain DBSCAN
 *     and Immich's incremental scheme (in file order and in 10 random orders), over an eps/max
 *     distance sweep, on lfw10 and on a harder set made from the same photos (shrunk + JPEG 50,
 *     shrunk to 70 px, turned 20 degrees, darkened + blurred).
 *  4. Learning: name one random face per person (several seeds), then count the other labelled
 *     faces suggested correctly / wrongly / not at all, before and after a full re-cluster.
 *  5. Scale: a 10,000-face library synthesised from the real lfw10 embeddings (each synthetic
 *     person = a real person's embeddings under a random orthogonal map, i.e. a dimension
 *     permutation with sign flips, which keeps within-person similarities and makes different
 *     people as unrelated as random vectors, plus small noise); time to assign one new photo's
 *     faces with FaceLibrary.update(), and the cost of a full re-cluster.
 *
 * Run alone: `node --import tsx test/bench/faces.ts`. Sizes:
 *   LOUPE_BENCH_FACES_LIBRARY=10000   faces in the synthetic library
 *   LOUPE_BENCH_FACES_SEEDS=10        random namings / arrival orders
 *   LOUPE_BENCH_FACES_REPEATS=3       timing repeats per photo
 *   LOUPE_BENCH_FACES_NEW=40          new photos added one at a time to the large library
 *   LOUPE_BENCH_FACES_ONLY=           library | method | scale: run only that part (after the cost part)
 */
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Catalog } from '../../sidecar/catalog/catalog';
import { decodeImage, type DecodedImage } from '../../sidecar/decode/decode';
import { analyzeFaces, createFaceAnalyzer, DEFAULT_QUALITY, listLiteral } from '../../sidecar/faces/analyzer';
import { dbscan, densityCluster, immichCluster, knnGraph, type Clustering } from '../../sidecar/faces/cluster';
import { DEFAULT_PEOPLE_PARAMS, FaceLibrary } from '../../sidecar/faces/library';
import { loadFaceModels, type FaceModels } from '../../sidecar/faces/load';
import { scoreClustering, type ClusterScores } from '../../sidecar/faces/metrics';
import { ModelResolver } from '../../sidecar/models/resolver';
import { indexRoot } from '../../sidecar/pipeline/indexer';
import { benchTmpDir, envInt, log, machineInfo, markerMatches, removeScratch, round, stats, writeMarker, writeResult, type Benchmark, type BenchResult } from './common';
import { groupingComparison, runFaceApiBaseline, type ComparableFace } from './face-api-baseline';
import { prng, SHARED_DATA } from './fixtures';

const NAME = 'faces';
const FULL_LIBRARY = 10_000;
const FULL_SEEDS = 10;
const FULL_REPEATS = 3;
const FULL_NEW = 40;
const LFW = join(SHARED_DATA, 'faces/lfw10/images');
const PORTRAIT = join(SHARED_DATA, 'faces/portraits/portrait.jpg');

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

function shuffle<T>(items: readonly T[], seed: number): T[] {
  const next = prng(seed);
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function lfwPhotos(): string[] {
  const out: string[] = [];
  for (const person of readdirSync(LFW).sort()) for (const f of readdirSync(join(LFW, person)).sort()) out.push(`${person}/${f}`);
  return out;
}

/** The labelled face of an LFW-style photo: centred and large (the crops are centred on the named person). */
function isCentred(box: { x: number; y: number; w: number; h: number }, width: number, height: number): boolean {
  const cx = (box.x + box.w / 2) / width - 0.5;
  const cy = (box.y + box.h / 2) / height - 0.5;
  return Math.hypot(cx, cy) < 0.12 && box.w > 0.2 * width;
}

function scoresSummary(s: ClusterScores) {
  return {
    bcubedF1: round(s.bcubed.f1),
    bcubedPrecision: round(s.bcubed.precision),
    bcubedRecall: round(s.bcubed.recall),
    pairwisePrecision: round(s.pairwise.precision),
    pairwiseRecall: round(s.pairwise.recall),
    pairwiseF1: round(s.pairwise.f1),
    groups: s.groups,
    ungrouped: s.ungrouped,
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Detection + embedding cost
// ---------------------------------------------------------------------------------------------

async function costBench(models: FaceModels, repeats: number) {
  const photos = lfwPhotos();
  const images: Array<{ photo: string; image: DecodedImage }> = [];
  for (const p of photos) images.push({ photo: p, image: await decodeImage(join(LFW, p), p) });
  const portrait = await decodeImage(PORTRAIT, 'portrait.jpg');
  // Warm-up (sessions, JIT), not recorded.
  for (let i = 0; i < 5; i++) await analyzeFaces(images[i].image, models.detector, models.embedder);

  const perPhoto: Array<{ photo: string; faces: number; ms: number; cpuMs: number; detectMs: number }> = [];
  for (const { photo, image } of images) {
    const wall: number[] = [];
    const cpu: number[] = [];
    const det: number[] = [];
    let faces = 0;
    for (let r = 0; r < repeats; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      faces = (await analyzeFaces(image, models.detector, models.embedder)).length;
      wall.push(performance.now() - t0);
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1000);
      const t1 = performance.now();
      await models.detector.detect(image);
      det.push(performance.now() - t1);
    }
    perPhoto.push({ photo, faces, ms: round(median(wall), 2), cpuMs: round(median(cpu), 2), detectMs: round(median(det), 2) });
  }
  const portraitTimes: number[] = [];
  let portraitFaces = 0;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    portraitFaces = (await analyzeFaces(portrait, models.detector, models.embedder)).length;
    portraitTimes.push(performance.now() - t0);
  }
  const one = perPhoto.filter((p) => p.faces === 1);
  return {
    repeatsPerPhoto: repeats,
    workingImage: '250x250 (LFW photos are 250x250; the detector sees them upscaled 2x to 512x512)',
    onePhotoFaceMs: stats(one.map((p) => p.ms), 2),
    onePhotoFaceCpuMs: stats(one.map((p) => p.cpuMs), 2),
    onePhotoDetectOnlyMs: stats(one.map((p) => p.detectMs), 2),
    onePhotoEmbedMs: round(median(one.map((p) => p.ms - p.detectMs)), 2),
    onePhotos: one.length,
    allPhotosMs: stats(perPhoto.map((p) => p.ms), 2),
    facesPerPhoto: stats(perPhoto.map((p) => p.faces), 2),
    portrait840x700: { faces: portraitFaces, ms: round(median(portraitTimes), 2) },
    images,
  };
}

// ---------------------------------------------------------------------------------------------
// 2 + 4. The library on a real catalog of lfw10
// ---------------------------------------------------------------------------------------------

interface LabelledFace {
  faceIndex: number;
  relPath: string;
  identity: string;
}

async function resetPeople(catalog: Catalog): Promise<void> {
  await catalog.rawQuery('DELETE FROM people');
  await catalog.rawQuery('DELETE FROM face_decisions');
  await catalog.rawQuery('UPDATE faces SET person_id = NULL, status = NULL, confidence = NULL');
}

async function labelledFaces(catalog: Catalog): Promise<Map<number, LabelledFace>> {
  const rows = await catalog.rawQuery(
    `SELECT f.id, f.face_index, f.x, f.y, f.w, f.h, a.rel_path, a.width, a.height FROM faces f JOIN assets a ON a.id = f.asset_id`,
  );
  const out = new Map<number, LabelledFace>();
  for (const r of rows) {
    const box = { x: r.x as number, y: r.y as number, w: r.w as number, h: r.h as number };
    if (!isCentred(box, Number(r.width), Number(r.height))) continue;
    const relPath = r.rel_path as string;
    out.set(Number(r.id), { faceIndex: Number(r.face_index), relPath, identity: relPath.split('/')[1] });
  }
  return out;
}

async function personOf(catalog: Catalog): Promise<Map<number, { personId: number | null; status: string | null; name: string | null; confidence: number | null }>> {
  const rows = await catalog.rawQuery(
    `SELECT f.id, f.person_id, f.status, f.confidence, p.name FROM faces f LEFT JOIN people p ON p.id = f.person_id`,
  );
  return new Map(
    rows.map((r) => [
      Number(r.id),
      {
        personId: r.person_id === null ? null : Number(r.person_id),
        status: (r.status as string | null) ?? null,
        name: (r.name as string | null) ?? null,
        confidence: (r.confidence as number | null) ?? null,
      },
    ]),
  );
}

async function lfwLibraryBench(models: FaceModels, seeds: number) {
  const scratch = join(benchTmpDir(), 'faces-lfw10');
  if (existsSync(scratch)) removeScratch(scratch);
  mkdirSync(scratch, { recursive: true });
  cpSync(LFW, join(scratch, 'lfw'), { recursive: true });
  const catalog = await Catalog.open(scratch);
  try {
    const t0 = performance.now();
    const indexed = await indexRoot(catalog, { analyzers: [createFaceAnalyzer(models.detector, models.embedder)] });
    const indexMs = performance.now() - t0;
    const labelled = await labelledFaces(catalog);
    const ids = [...labelled.keys()];
    const truth = ids.map((id) => labelled.get(id)!.identity);
    const totalFaces = Number((await catalog.rawQuery('SELECT count(*) AS n FROM faces'))[0].n);

    // (a) all at once (first index of a root)
    await resetPeople(catalog);
    const t1 = performance.now();
    let lib = await FaceLibrary.open(catalog);
    const bulkMs = performance.now() - t1;
    let state = await personOf(catalog);
    const bulk = scoreClustering(ids.map((id) => state.get(id)!.personId ?? -1), truth);

    // (b) photo by photo, random orders: rows are taken out and put back one photo at a time.
    const all = await catalog.rawQuery(
      `SELECT id, asset_id, face_index, x, y, w, h, landmarks, score, sharpness, size, usable, embedding FROM faces ORDER BY id`,
    );
    const byAsset = new Map<number, typeof all>();
    for (const r of all) {
      const a = Number(r.asset_id);
      if (!byAsset.has(a)) byAsset.set(a, []);
      byAsset.get(a)!.push(r);
    }
    const incremental: Array<ReturnType<typeof scoresSummary>> = [];
    const perPhotoMs: number[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      await resetPeople(catalog);
      await catalog.rawQuery('DELETE FROM faces');
      lib = await FaceLibrary.open(catalog);
      const keyOf = new Map<string, number>(); // asset:index -> original id
      for (const asset of shuffle([...byAsset.keys()], seed)) {
        for (const r of byAsset.get(asset)!) {
          const inserted = await catalog.rawQuery(
            `INSERT INTO faces (asset_id, face_index, x, y, w, h, landmarks, score, sharpness, size, usable, embedding)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
            [
              Number(r.asset_id), Number(r.face_index), r.x as number, r.y as number, r.w as number, r.h as number,
              listLiteral(r.landmarks as number[]), r.score as number, r.sharpness as number, r.size as number, r.usable as boolean,
              r.embedding === null ? null : listLiteral(r.embedding as number[]),
            ],
          );
          keyOf.set(`${asset}:${r.face_index}`, Number(inserted[0].id));
        }
        const t = performance.now();
        await lib.update();
        perPhotoMs.push(performance.now() - t);
      }
      state = await personOf(catalog);
      const newIds = new Map<number, number>();
      for (const r of all) newIds.set(Number(r.id), keyOf.get(`${r.asset_id}:${r.face_index}`)!);
      incremental.push(scoresSummary(scoreClustering(ids.map((id) => state.get(newIds.get(id)!)!.personId ?? -1), truth)));
    }

    // 4. Name one random labelled face per person; count the other labelled faces' suggestions.
    const namingRuns: Array<{ seed: number; correct: number; wrong: number; none: number; afterReclusterCorrect: number; afterReclusterWrong: number; afterReclusterNone: number }> = [];
    const calibration: Array<{ confidence: number; correct: boolean }> = [];
    let nameMs: number[] = [];
    // Rows are back in their original form (ids changed): rebuild the labelled map.
    await resetPeople(catalog);
    const relabelled = await labelledFaces(catalog);
    const byIdentity = new Map<string, number[]>();
    for (const [id, l] of relabelled) {
      if (!byIdentity.has(l.identity)) byIdentity.set(l.identity, []);
      byIdentity.get(l.identity)!.push(id);
    }
    for (let seed = 1; seed <= seeds; seed++) {
      await resetPeople(catalog);
      lib = await FaceLibrary.open(catalog);
      const next = prng(1000 + seed);
      const named = new Set<number>();
      for (const [who, faceIds] of [...byIdentity.entries()].sort()) {
        const pick = faceIds[Math.floor(next() * faceIds.length)];
        named.add(pick);
        const t = performance.now();
        await lib.nameFace(pick, who);
        nameMs.push(performance.now() - t);
      }
      const count = async (collect: boolean) => {
        const s = await personOf(catalog);
        let correct = 0, wrong = 0, none = 0;
        for (const [id, l] of relabelled) {
          if (named.has(id)) continue;
          const p = s.get(id)!;
          if (p.status !== 'suggested') none++;
          else if (p.name === l.identity) correct++;
          else wrong++;
          if (collect && p.status === 'suggested') calibration.push({ confidence: p.confidence ?? 0, correct: p.name === l.identity });
        }
        return { correct, wrong, none };
      };
      const before = await count(true);
      await lib.recluster();
      const after = await count(false);
      namingRuns.push({
        seed,
        ...before,
        afterReclusterCorrect: after.correct,
        afterReclusterWrong: after.wrong,
        afterReclusterNone: after.none,
      });
    }
    const others = relabelled.size - byIdentity.size;
    const pct = (n: number) => round((100 * n) / (others * namingRuns.length), 2);
    const sum = (k: keyof (typeof namingRuns)[number]) => namingRuns.reduce((a, r) => a + (r[k] as number), 0);
    const buckets = [0, 0.5, 0.8, 0.95, 1.0001].slice(0, -1).map((lo, i, arr) => {
      const hi = i + 1 < arr.length ? arr[i + 1] : 1.0001;
      const inB = calibration.filter((c) => c.confidence >= lo && c.confidence < hi);
      return { confidence: `${lo}-${Math.min(1, hi)}`, suggestions: inB.length, correct: inB.filter((c) => c.correct).length };
    });
    nameMs = nameMs.map((v) => round(v, 1));
    return {
      photos: indexed.processed,
      faces: totalFaces,
      labelledFaces: labelled.size,
      indexSeconds: round(indexMs / 1000, 2),
      grouping: {
        allAtOnce: { ...scoresSummary(bulk), ms: round(bulkMs, 1) },
        photoByPhoto: {
          orders: incremental.length,
          bcubedF1: stats(incremental.map((r) => r.bcubedF1)),
          pairwisePrecision: stats(incremental.map((r) => r.pairwisePrecision)),
          pairwiseRecall: stats(incremental.map((r) => r.pairwiseRecall)),
          updateMsPerPhoto: stats(perPhotoMs, 2),
        },
      },
      naming: {
        seeds: namingRuns.length,
        otherLabelledFacesPerSeed: others,
        suggestedCorrectlyPct: pct(sum('correct')),
        suggestedWronglyPct: pct(sum('wrong')),
        notSuggestedPct: pct(sum('none')),
        afterFullRecluster: {
          suggestedCorrectlyPct: pct(sum('afterReclusterCorrect')),
          suggestedWronglyPct: pct(sum('afterReclusterWrong')),
          notSuggestedPct: pct(sum('afterReclusterNone')),
        },
        worstSeedCorrectPct: round((100 * Math.min(...namingRuns.map((r) => r.correct))) / others, 2),
        nameFaceMs: stats(nameMs, 1),
        confidenceCalibration: buckets,
        runs: namingRuns,
      },
    };
  } finally {
    catalog.close();
    removeScratch(scratch);
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Method choice: sweeps on real embeddings (lfw10 and degraded copies of it)
// ---------------------------------------------------------------------------------------------

const VARIANTS: Record<string, (s: sharp.Sharp) => sharp.Sharp> = {
  small: (s) => s.resize(100, 100).jpeg({ quality: 50 }),
  tiny: (s) => s.resize(70, 70).jpeg({ quality: 40 }),
  turned: (s) => s.rotate(20, { background: '#808080' }).jpeg({ quality: 90 }),
  dark: (s) => s.modulate({ brightness: 0.45 }).blur(1.2).jpeg({ quality: 90 }),
};

interface EmbeddedFace {
  photo: string;
  variant: string;
  identity: string | null;
  usable: boolean;
  vector: Float32Array;
  score?: number;
  box?: { x: number; y: number; w: number; h: number };
  width?: number;
  height?: number;
}

async function variantImages(): Promise<string> {
  const dir = join(benchTmpDir(), 'faces-variants');
  const marker = `${dir}.json`;
  const recipe = { version: 1, variants: Object.keys(VARIANTS), photos: lfwPhotos().length };
  if (markerMatches(marker, recipe)) return dir;
  if (existsSync(dir)) removeScratch(dir);
  for (const [name, fn] of Object.entries(VARIANTS)) {
    for (const p of lfwPhotos()) {
      const out = join(dir, name, p);
      mkdirSync(join(out, '..'), { recursive: true });
      await fn(sharp(join(LFW, p))).toFile(out);
    }
  }
  writeMarker(marker, recipe);
  return dir;
}

async function embedAll(models: FaceModels, images: Array<{ photo: string; image: DecodedImage }>, variant: string): Promise<EmbeddedFace[]> {
  const out: EmbeddedFace[] = [];
  for (const { photo, image } of images) {
    for (const f of await analyzeFaces(image, models.detector, models.embedder)) {
      if (!f.embedding) continue;
      out.push({
        photo: `${variant}/${photo}`,
        variant,
        identity: isCentred(f.box, image.width, image.height) ? photo.split('/')[0] : null,
        usable: f.usable,
        vector: f.embedding,
        score: f.score,
        box: f.box,
        width: image.width,
        height: image.height,
      });
    }
  }
  return out;
}

function sweep(faces: EmbeddedFace[], seeds: number) {
  const pool = faces.filter((f) => f.usable);
  const vectors = pool.map((f) => f.vector);
  const photos = [...new Set(pool.map((f) => f.photo))];
  const asset = pool.map((f) => photos.indexOf(f.photo));
  const labelledIdx = pool.map((f, i) => (f.identity ? i : -1)).filter((i) => i >= 0);
  const truth = labelledIdx.map((i) => pool[i].identity!);
  const graph = knnGraph(vectors, DEFAULT_PEOPLE_PARAMS.knn);
  const f1 = (c: Clustering) => scoreClustering(labelledIdx.map((i) => c.labels[i]), truth);
  const epsValues = [0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75];
  const row = (fn: (eps: number) => ClusterScores) =>
    Object.fromEntries(epsValues.map((eps) => {
      const s = fn(eps);
      return [eps.toFixed(2), { bcubedF1: round(s.bcubed.f1), pairwisePrecision: round(s.pairwise.precision) }];
    }));
  const p = DEFAULT_PEOPLE_PARAMS;
  const immichRandom = (eps: number) => {
    let worst: ClusterScores | null = null;
    for (let seed = 1; seed <= seeds; seed++) {
      const order = shuffle([...vectors.keys()], seed);
      const c = immichCluster(order.map((i) => vectors[i]), eps, 3);
      const labels = new Int32Array(vectors.length);
      order.forEach((orig, pos) => (labels[orig] = c.labels[pos]));
      const s = f1({ labels, strength: c.strength, count: c.count });
      if (!worst || s.bcubed.f1 < worst.bcubed.f1) worst = s;
    }
    return worst!;
  };
  return {
    faces: faces.length,
    usableFaces: pool.length,
    labelledUsableFaces: labelledIdx.length,
    byEps: {
      loupeDensity: row((eps) => f1(densityCluster(graph, { ...p, eps }, { asset }, vectors))),
      loupeDensityWithoutGuard: row((eps) => f1(densityCluster(graph, { ...p, eps, minAverageSimilarity: 0 }, { asset }, vectors))),
      dbscanMinPts3: row((eps) => f1(dbscan(graph, eps, 3))),
      immichMinFaces3FileOrder: row((eps) => f1(immichCluster(vectors, eps, 3))),
      immichMinFaces3WorstOfRandomOrders: row(immichRandom),
    },
  };
}

async function methodBench(models: FaceModels, lfwImages: Array<{ photo: string; image: DecodedImage }>, seeds: number) {
  const original = await embedAll(models, lfwImages, 'original');
  const dir = await variantImages();
  const degraded: EmbeddedFace[] = [];
  for (const v of Object.keys(VARIANTS)) {
    const images: Array<{ photo: string; image: DecodedImage }> = [];
    for (const p of lfwPhotos()) images.push({ photo: p, image: await decodeImage(join(dir, v, p), p) });
    degraded.push(...(await embedAll(models, images, v)));
  }
  // Similarity statistics of the labelled originals.
  const lab = original.filter((f) => f.identity);
  const same: number[] = [];
  const diff: number[] = [];
  for (let i = 0; i < lab.length; i++) {
    for (let j = i + 1; j < lab.length; j++) {
      let s = 0;
      for (let k = 0; k < lab[i].vector.length; k++) s += lab[i].vector[k] * lab[j].vector[k];
      (lab[i].identity === lab[j].identity ? same : diff).push(s);
    }
  }
  const q = (v: number[], p: number) => round([...v].sort((a, b) => a - b)[Math.floor(p * (v.length - 1))]);
  return {
    cosine: {
      samePerson: { min: q(same, 0), p5: q(same, 0.05), median: q(same, 0.5) },
      differentPeople: { median: q(diff, 0.5), p99: q(diff, 0.99), max: q(diff, 1) },
    },
    lfw10: sweep(original, seeds),
    lfw10PlusDegradedCopies: sweep([...original, ...degraded], seeds),
  };
}

// ---------------------------------------------------------------------------------------------
// 5. Scale: a synthetic 10,000-face library made from the real embeddings
// ---------------------------------------------------------------------------------------------

interface SynthPerson {
  base: number; // real identity index
  perm: Int32Array;
  sign: Float32Array;
}

/** One synthetic face: a random blend of two real faces of the person's base identity, mapped, plus noise. */
function synthFace(person: SynthPerson, pool: readonly Float32Array[], next: () => number, noise: number): Float32Array {
  const a = pool[Math.floor(next() * pool.length)];
  const b = pool[Math.floor(next() * pool.length)];
  const w = next();
  const out = new Float32Array(a.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    // Box-Muller
    const g = Math.sqrt(-2 * Math.log(Math.max(1e-12, next()))) * Math.cos(2 * Math.PI * next());
    const j = person.perm[i];
    out[i] = person.sign[i] * (w * a[j] + (1 - w) * b[j]) + noise * g;
    n += out[i] * out[i];
  }
  n = Math.sqrt(n);
  for (let i = 0; i < out.length; i++) out[i] /= n;
  return out;
}

async function insertFaces(catalog: Catalog, rows: Array<{ asset: number; index: number; vector: Float32Array }>): Promise<void> {
  for (let i = 0; i < rows.length; i += 2000) {
    const chunk = rows.slice(i, i + 2000).map((r) => ({ a: r.asset, i: r.index, e: Array.from(r.vector, (v) => Number(v.toPrecision(7))) }));
    await catalog.rawQuery(
      `INSERT INTO faces (asset_id, face_index, x, y, w, h, landmarks, score, sharpness, size, usable, embedding)
       SELECT a, i, 100 + 150 * i, 100, 120, 150, [0,0,0,0,0,0,0,0,0,0]::DOUBLE[10], 0.9, 200, 120, true, e::FLOAT[128]
       FROM (SELECT unnest(from_json($1::JSON, '[{"a":"BIGINT","i":"INTEGER","e":"FLOAT[]"}]'), recursive := true))`,
      [JSON.stringify(chunk)],
    );
  }
}

async function insertAssets(catalog: Catalog, first: number, count: number): Promise<number[]> {
  const rows = await catalog.rawQuery(
    `INSERT INTO assets (rel_path, size, mtime_ms, status, content_hash, format, width, height, analyzer_versions)
     SELECT 'synthetic/p' || i || '.jpg', 1000, 0, 'ok', 'synthetic-' || i, 'jpeg', 1000, 800, '{"faces":1}'
     FROM range($1, $2) t(i) RETURNING id`,
    [first, first + count],
  );
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}

async function scaleBench(realFaces: EmbeddedFace[], size: number, newPhotos: number) {
  const next = prng(4242);
  const real = realFaces.filter((f) => f.identity && f.usable);
  const identities = [...new Set(real.map((f) => f.identity!))];
  const byIdentity = identities.map((id) => real.filter((f) => f.identity === id).map((f) => f.vector));
  const persons: SynthPerson[] = [];
  const members: number[] = []; // faces per person
  let total = 0;
  const noise = 0.02; // per dimension (about 0.95 cosine to the noiseless blend)
  // A few people in many photos, many in a few (Zipf-like, 3..250 faces), and 10% of the faces
  // are people seen once (bystanders).
  while (total < size) {
    const k = persons.length;
    const perm = Int32Array.from(shuffle([...Array(128).keys()], 7 + k));
    const sign = Float32Array.from({ length: 128 }, () => (next() < 0.5 ? -1 : 1));
    persons.push({ base: k % byIdentity.length, perm, sign });
    const n = Math.min(size - total, total < 0.9 * size ? Math.max(3, Math.round(250 / Math.pow(k + 1, 0.7))) : 1);
    members.push(n);
    total += n;
  }
  const scratch = join(benchTmpDir(), 'faces-scale');
  if (existsSync(scratch)) removeScratch(scratch);
  mkdirSync(scratch, { recursive: true });
  const catalog = await Catalog.open(scratch);
  try {
    // Photos: most with one face; some group photos with 2-4 different people.
    const faces: Array<{ person: number; vector: Float32Array }> = [];
    persons.forEach((p, k) => {
      const pool = byIdentity[p.base];
      for (let j = 0; j < members[k]; j++) faces.push({ person: k, vector: synthFace(p, pool, next, noise) });
    });
    const order = shuffle([...faces.keys()], 99);
    const photos: number[][] = [];
    for (let i = 0; i < order.length; ) {
      const n = next() < 0.8 ? 1 : 2 + Math.floor(next() * 3);
      const group: number[] = [];
      const seen = new Set<number>();
      while (group.length < n && i < order.length) {
        if (seen.has(faces[order[i]].person) && group.length > 0) break;
        seen.add(faces[order[i]].person);
        group.push(order[i++]);
      }
      photos.push(group);
    }
    const t0 = performance.now();
    const assetIds = await insertAssets(catalog, 0, photos.length);
    const rows: Array<{ asset: number; index: number; vector: Float32Array }> = [];
    const personOfRow: number[] = [];
    photos.forEach((g, pi) => g.forEach((fi, idx) => {
      rows.push({ asset: assetIds[pi], index: idx, vector: faces[fi].vector });
      personOfRow.push(faces[fi].person);
    }));
    await insertFaces(catalog, rows);
    const seedMs = performance.now() - t0;

    const t1 = performance.now();
    const lib = await FaceLibrary.open(catalog);
    const openMs = performance.now() - t1;
    const idRows = await catalog.rawQuery('SELECT id FROM faces ORDER BY id');
    const faceIds = idRows.map((r) => Number(r.id)); // insertion order = rows order
    let state = await personOf(catalog);
    const grouping = scoresSummary(scoreClustering(faceIds.map((id) => state.get(id)!.personId ?? -1), personOfRow.map(String)));

    // Name one face of each of the 100 largest people.
    const namedPersons = new Map<number, number>(); // synthetic person -> person id
    const firstFace = new Map<number, number>();
    personOfRow.forEach((p, i) => {
      if (!firstFace.has(p)) firstFace.set(p, faceIds[i]);
    });
    const nameTimes: number[] = [];
    for (let k = 0; k < Math.min(100, persons.length); k++) {
      const t = performance.now();
      const s = await lib.nameFace(firstFace.get(k)!, `person ${k}`);
      nameTimes.push(performance.now() - t);
      namedPersons.set(k, s.id);
    }

    // New photos, one at a time: mostly named people, some strangers (people never seen).
    const addTimes: number[] = [];
    let correct = 0, wrong = 0, missed = 0, strangerOk = 0, strangers = 0;
    let nextAsset = photos.length;
    for (let n = 0; n < newPhotos; n++) {
      const stranger = n % 5 === 4;
      const k = stranger ? persons.length + n : Math.floor(next() * 100);
      const person: SynthPerson = stranger
        ? { base: n % byIdentity.length, perm: Int32Array.from(shuffle([...Array(128).keys()], 100_000 + n)), sign: Float32Array.from({ length: 128 }, () => (next() < 0.5 ? -1 : 1)) }
        : persons[k];
      const pool = byIdentity[person.base];
      const vector = synthFace(person, pool, next, noise);
      const [asset] = await insertAssets(catalog, nextAsset++, 1);
      await insertFaces(catalog, [{ asset, index: 0, vector }]);
      const t = performance.now();
      const report = await lib.update();
      addTimes.push(performance.now() - t);
      if (report.added !== 1) throw new Error(`expected one new face, update saw ${report.added}`);
      const face = (await lib.facesOfAsset(asset))[0];
      if (stranger) {
        strangers++;
        if (face.status !== 'suggested' || !face.personName) strangerOk++;
      } else if (face.status === 'suggested' || face.status === 'confirmed') {
        if (face.personId === namedPersons.get(k)) correct++;
        else wrong++;
      } else missed++;
    }
    // A server restart: everything is loaded and the vector index rebuilt, no grouping.
    const t3 = performance.now();
    const reopened = await FaceLibrary.open(catalog);
    const reopenMs = performance.now() - t3;
    await reopened.update();
    const t2 = performance.now();
    const rc = await lib.recluster();
    const reclusterMs = performance.now() - t2;
    state = await personOf(catalog);
    return {
      faces: rows.length,
      photos: photos.length,
      syntheticPeople: persons.length,
      noisePerDimension: noise,
      seedCatalogMs: round(seedMs, 0),
      openAndGroupAllMs: round(openMs, 0),
      groupingOfSyntheticLibrary: grouping,
      nameFaceMs: stats(nameTimes, 1),
      newPhoto: {
        photos: newPhotos,
        assignMs: stats(addTimes, 2),
        namedPersonSuggestedCorrectly: correct,
        namedPersonSuggestedWrongly: wrong,
        namedPersonNotSuggested: missed,
        strangersNotSuggestedToAnyone: `${strangerOk}/${strangers}`,
      },
      reopenMs: round(reopenMs, 0),
      fullReclusterMs: round(reclusterMs, 0),
      fullReclusterReport: { confirmed: rc.confirmed, suggested: rc.suggested, clustered: rc.clustered, unassigned: rc.unassigned },
    };
  } finally {
    catalog.close();
    removeScratch(scratch);
  }
}

// ---------------------------------------------------------------------------------------------
// 6. Side by side with @vladmandic/face-api (its own detector + 128-d descriptor, tfjs wasm)
// ---------------------------------------------------------------------------------------------

async function comparisonBench(models: FaceModels, images: Array<{ photo: string; image: DecodedImage }>, realFaces: EmbeddedFace[], cost: { onePhotoFaceMs: { median: number }; allPhotosMs: { median: number } }) {
  const photos = images.map((i) => i.photo);
  // Loupe: every detected face (embedded or not), so the most central face of a photo is chosen among all.
  const loupeFaces: ComparableFace[] = [];
  for (const { photo, image } of images) {
    for (const f of await analyzeFaces(image, models.detector, models.embedder)) {
      loupeFaces.push({ photo, box: f.box, width: image.width, height: image.height, score: f.score, usable: f.usable && !!f.embedding, vector: f.embedding });
    }
  }
  void realFaces;
  const loupeGrouping = groupingComparison(loupeFaces, photos);
  const repeats = envInt('LOUPE_BENCH_FACEAPI_REPEATS', 1);
  log(`${NAME}: @vladmandic/face-api baseline (${repeats} timed run(s) per photo)`);
  const fa = await runFaceApiBaseline({ root: LFW, repeats });
  const loupe = {
    system: 'Loupe (YuNet + ArcFace alignment + MobileFaceNet, onnxruntime-node)',
    msPerOneFacePhoto: cost.onePhotoFaceMs.median,
    msPerPhoto: cost.allPhotosMs.median,
    grouping: loupeGrouping,
  };
  if (fa.status !== 'ok') {
    return { loupe, faceApi: { status: fa.status, stage: fa.stage, reason: fa.reason } };
  }
  const { faces, photos: faPhotos, perPhoto, ...faInfo } = fa;
  void faPhotos;
  const faceApiGrouping = groupingComparison(faces, photos, { euclideanThreshold: 0.6 });
  return {
    protocol: [
      `Both systems see the same ${photos.length} lfw10 photos; every face each system finds takes part in clustering (bystanders are distractors); faces from one photo never group (the asset constraint of Loupe's clustering).`,
      'Clustering = Loupe\'s densityCluster (DBSCAN* + average-link guard, DEFAULT_PEOPLE_PARAMS, kNN graph) on L2-normalised vectors with cosine distance, for both systems; face-api vectors are also clustered at eps = 0.18 (cosine distance equal to Euclidean 0.6 on unit vectors) and by a plain single-link union of raw descriptors closer than Euclidean 0.6 (face-api\'s recommended match threshold), no constraints.',
      '"labelled" scores only faces passing the centred-and-large rule used in the rest of this bench; "perPhoto" scores one item per photo, its most central face (no face / unusable face = ungrouped singleton), so missed detections cost.',
      'ms/photo: detection + landmarks/alignment + embedding on an already decoded image, median over photos after warm-up; Loupe with onnxruntime (intra-op threads as in params), face-api with tfjs-backend-wasm (see wasmSimd / wasmMultithread).',
      'face-api has no face quality gate: all its detections (minConfidence 0.5) are usable; Loupe drops faces failing its quality gate (usable = false) from grouping.',
    ],
    loupe,
    faceApi: { ...faInfo, grouping: faceApiGrouping, perPhoto },
  };
}

// ---------------------------------------------------------------------------------------------

async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const size = envInt('LOUPE_BENCH_FACES_LIBRARY', FULL_LIBRARY, 100);
  const seeds = envInt('LOUPE_BENCH_FACES_SEEDS', FULL_SEEDS);
  const repeats = envInt('LOUPE_BENCH_FACES_REPEATS', FULL_REPEATS);
  const newPhotos = envInt('LOUPE_BENCH_FACES_NEW', FULL_NEW);
  const modelsDir = process.env.LOUPE_MODELS_DIR || join(SHARED_DATA, '..', 'models');
  const models = await loadFaceModels({ resolver: new ModelResolver({ modelsDir }), download: false });

  log(`${NAME}: detection + embedding cost (${repeats} repeats per photo)`);
  const cost = await costBench(models, repeats);
  const only = process.env.LOUPE_BENCH_FACES_ONLY ?? '';
  log(`${NAME}: the library on lfw10 (${seeds} orders / namings)`);
  const library = only && only !== 'library' ? null : await lfwLibraryBench(models, seeds);
  log(`${NAME}: method comparison on lfw10 and degraded copies`);
  const method = only && only !== 'method' ? null : await methodBench(models, cost.images, seeds);
  const realFaces = await embedAll(models, cost.images, 'original');
  log(`${NAME}: side by side with @vladmandic/face-api`);
  let comparison: Awaited<ReturnType<typeof comparisonBench>> | { error: string };
  try {
    comparison = await comparisonBench(models, cost.images, realFaces, cost);
  } catch (err) {
    comparison = { error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  log(`${NAME}: ${size}-face synthetic library`);
  const scale = only && only !== 'scale' ? null : await scaleBench(realFaces, size, newPhotos);
  const { images: _images, ...costResults } = cost;
  void _images;

  const n = library?.naming;
  const headline =
    (library && n
      ? `lfw10 BCubed F1 ${library.grouping.allAtOnce.bcubedF1} (all at once), photo by photo median ${library.grouping.photoByPhoto.bcubedF1.median}; ` +
        `after naming 1 face/person: ${n.suggestedCorrectlyPct}% right, ${n.suggestedWronglyPct}% wrong, ${n.notSuggestedPct}% not suggested; `
      : '') +
    `detect+embed ${cost.onePhotoFaceMs.median} ms per one-face photo (median)` +
    (scale ? `; new photo in a ${scale.faces}-face library assigned in ${scale.newPhoto.assignMs.median} ms (median, p90 ${scale.newPhoto.assignMs.p90})` : '') +
    `; ${comparisonHeadline(comparison)}`;
  return {
    name: NAME,
    description:
      'Face detection + embedding cost per photo, unsupervised grouping quality on lfw10 (all at once and photo by photo), the method comparison behind the choice (constrained DBSCAN* with an average-link guard vs DBSCAN vs Immich-style), suggestions after naming one face per person, and incremental assignment in a 10,000-face library.',
    startedAt,
    finishedAt: new Date().toISOString(),
    fullSize: size === FULL_LIBRARY && seeds === FULL_SEEDS && repeats === FULL_REPEATS && newPhotos === FULL_NEW && !only,
    params: {
      librarySize: size,
      seeds,
      repeatsPerPhoto: repeats,
      newPhotos,
      eps: DEFAULT_PEOPLE_PARAMS.eps,
      minPts: DEFAULT_PEOPLE_PARAMS.minPts,
      minAverageSimilarity: DEFAULT_PEOPLE_PARAMS.minAverageSimilarity ?? 0,
      groupThreshold: DEFAULT_PEOPLE_PARAMS.groupThreshold,
      aloneThreshold: DEFAULT_PEOPLE_PARAMS.aloneThreshold,
      margin: DEFAULT_PEOPLE_PARAMS.margin,
      minScore: DEFAULT_QUALITY.minScore,
      minFaceSize: DEFAULT_QUALITY.minSize,
      minSharpness: DEFAULT_QUALITY.minSharpness,
      intraOpThreads: Number(process.env.LOUPE_INTRA_OP_THREADS ?? 1),
    },
    machine,
    notes: [
      'Labelled face = the centred face of an LFW photo (LFW crops are centred on the named person); other detected faces (bystanders) take part in grouping as distractors but are not scored.',
      'Faces not grouped count as singletons in pairwise and BCubed scores.',
      '"All at once" is what a first index of a root does (FaceLibrary groups >= 50 new faces together); "photo by photo" inserts the same face rows one photo at a time in random order and calls update() after each (the incremental path).',
      'Naming: one random labelled face per person is named with nameFace(); "suggested" counts faces whose status is suggested for a person; confirmed faces are the named ones only.',
      'The synthetic library: each synthetic person is a real lfw10 person under a random dimension permutation with sign flips (an orthogonal map: same-person similarities are kept, different people behave like random 128-d vectors); each face is a random blend of two of that person\'s real embeddings plus Gaussian noise; person sizes are Zipf-like (3..250 faces) and 10% of faces are people seen once; 20% of photos hold 2-4 people. Strangers are new synthetic people never seen before.',
      'assignMs is FaceLibrary.update() after one new photo row set was inserted: it reads the new rows from DuckDB, applies decisions, runs the nearest-neighbour searches (USearch) and writes the assignment back.',
      'The machine is shared (see loadAverage*); wall times can be inflated by other jobs, CPU times less so.',
    ],
    headline,
    results: { cost: costResults, library, method, scale, comparison },
  };
}

function comparisonHeadline(c: Awaited<ReturnType<typeof comparisonBench>> | { error: string }): string {
  if ('error' in c) return `face-api comparison failed: ${c.error.split('\n')[0]}`;
  const l = c.loupe.grouping.loupeClusteringDefaultEps.labelled;
  const lp = c.loupe.grouping.loupeClusteringDefaultEps.perPhoto;
  if (!('grouping' in c.faceApi)) return `face-api could not run (${c.faceApi.stage}: ${c.faceApi.reason})`;
  const g = c.faceApi.grouping;
  const fBest = g.loupeClusteringBestEps.labelled;
  const fU = g.euclideanUnion!;
  const ms = (c.faceApi as Record<string, unknown>).msPerOneFacePhoto as { median: number } | null;
  return (
    `vs @vladmandic/face-api: BCubed F1 (centred faces, same clustering, default eps) Loupe ${l.bcubedF1} vs face-api ${g.loupeClusteringDefaultEps.labelled.bcubedF1}` +
    ` (face-api best eps ${fBest.eps}: ${fBest.bcubedF1}; Euclidean-0.6 union: ${fU.labelled.bcubedF1}), per photo ${lp.bcubedF1} vs ${g.loupeClusteringDefaultEps.perPhoto.bcubedF1}; ` +
    `ms per one-face photo ${c.loupe.msPerOneFacePhoto} vs ${ms?.median ?? 'n/a'}`
  );
}

/** Runs the faces benchmark, writes bench-results/faces.json and returns what it wrote. */
export async function runFacesBench(): Promise<Record<string, unknown>> {
  const result = await run();
  const file = writeResult(result);
  log(`${NAME}: wrote ${file}`);
  log(`${NAME}: ${result.headline}`);
  return { ...result };
}

export const benchmark: Benchmark = { name: NAME, run };

if (require.main === module) {
  runFacesBench().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}

