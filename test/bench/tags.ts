/**
 * Tag quality and cost on real data:
 * - concept search: keyword queries on text2image/openclipart (captions.csv keywords are the ground
 *   truth) and on text2image/nature (hand ground truth from the file names, below), files renamed
 *   img-N so only tags can find them; per query success@1/5/10 (a relevant image in the top k),
 *   recall@1/5/10 (share of the relevant images in the top k) and MRR; ancestor scores as the SUM of
 *   the classes beneath a concept vs their MAX, side by side in the same run.
 * - cost per image of objects (YOLOX) + concepts and feature (MobileNetV2) + colours, excluding decode.
 * - "more like this": UKBench photos of imagededup plus their transformed copies (the shipped hflip /
 *   resize / rotation, and flip, half-size, 90° turn, 80% crop, JPEG q40 made here): is each copy
 *   in the top 5 of its original?
 */
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { Catalog } from '../../sidecar/catalog/catalog';
import { indexRoot } from '../../sidecar/pipeline/indexer';
import { decodeImage } from '../../sidecar/decode/decode';
import { loadDefaultAnalyzers } from '../../sidecar/analyzers/default-analyzers';
import { SearchEngine } from '../../sidecar/search/search';
import { TagSignal, tagFilter } from '../../sidecar/tags/tag-signal';
import { tagVocabulary } from '../../sidecar/tags/vocabulary';
import { emptyQuery } from '../../sidecar/search/query-parser';
import { TagIndex } from '../../sidecar/tags/tag-index';
import { MIN_SEARCH_SCORE } from '../../sidecar/tags/image-tags';
import { similarImages } from '../../sidecar/vectors/similar';
import { closeEmbeddingIndexes } from '../../sidecar/vectors/registry';
import { benchTmpDir, log, machineInfo, removeScratch, round, stats, type Benchmark, type BenchResult } from './common';
import { SHARED_DATA } from './fixtures';
import { measureVectorRecall } from './vector-recall';

const NAME = 'tags';

/** Nature photos: what a person would search for to find each (the subject in the file name, and its kind). */
const NATURE_TRUTH: Record<string, string[]> = {
  bird: ['prairie_falcon.jpg'],
  falcon: ['prairie_falcon.jpg'],
  animal: ['prairie_falcon.jpg'],
  flower: ['cyclamen_persicum.jpg', 'orychophragmus_violaceus.jpg', 'polemonium_reptans.jpg', 'wood_anemones.jpg', 'notocactus_minimus.jpg'],
  plant: ['cyclamen_persicum.jpg', 'orychophragmus_violaceus.jpg', 'polemonium_reptans.jpg', 'wood_anemones.jpg', 'notocactus_minimus.jpg', 'silver_fir.jpg'],
  cactus: ['notocactus_minimus.jpg'],
  tree: ['silver_fir.jpg'],
  fir: ['silver_fir.jpg'],
  rock: ['el_torcal_rocks.jpg'],
  cliff: ['el_torcal_rocks.jpg'],
  mountain: ['tanners_ridge.jpg', 'el_torcal_rocks.jpg'],
  ridge: ['tanners_ridge.jpg'],
};

interface QueryScore {
  query: string;
  relevant: number;
  found: number;
  firstRank: number | null;
  success: [number, number, number];
  recall: [number, number, number];
}

interface SetScore {
  queries: number;
  /** Queries whose words name no concept (nothing to rank), left out of the means. */
  unknownQueries: string[];
  success: { at1: number; at5: number; at10: number };
  recall: { at1: number; at5: number; at10: number };
  mrr: number;
  perQuery: QueryScore[];
}

function mean(xs: number[]): number {
  return xs.length ? round(xs.reduce((a, b) => a + b, 0) / xs.length, 3) : 0;
}

async function scoreSet(engine: SearchEngine, truth: Map<string, Set<string>>, nameOf: (relPath: string) => string): Promise<SetScore> {
  const vocab = tagVocabulary();
  const per: QueryScore[] = [];
  const unknown: string[] = [];
  for (const [query, relevant] of truth) {
    if (vocab.groups([query]).length === 0) {
      unknown.push(query);
      continue;
    }
    const r = await engine.search({ query, limit: 10 });
    const names = r.items.map((h) => nameOf(h.relPath));
    const ranks = names.map((n, i) => (relevant.has(n) ? i + 1 : 0)).filter((x) => x > 0);
    const first = ranks.length ? ranks[0] : null;
    const ks = [1, 5, 10] as const;
    per.push({
      query,
      relevant: relevant.size,
      found: r.total,
      firstRank: first,
      success: ks.map((k) => (first !== null && first <= k ? 1 : 0)) as [number, number, number],
      recall: ks.map((k) => round(ranks.filter((x) => x <= k).length / Math.min(k, relevant.size), 3)) as [number, number, number],
    });
  }
  return {
    queries: per.length,
    unknownQueries: unknown,
    success: { at1: mean(per.map((p) => p.success[0])), at5: mean(per.map((p) => p.success[1])), at10: mean(per.map((p) => p.success[2])) },
    recall: { at1: mean(per.map((p) => p.recall[0])), at5: mean(per.map((p) => p.recall[1])), at10: mean(per.map((p) => p.recall[2])) },
    mrr: mean(per.map((p) => (p.firstRank ? 1 / p.firstRank : 0))),
    perQuery: per,
  };
}

const TAG_ANALYZERS = ['objects', 'mobilenet', 'colours'];

export interface TagCost {
  images: number;
  /** Each analyzer alone, one after another: the CPU an image costs. */
  sequentialMs: ReturnType<typeof stats>;
  /** All three started together, as the indexer runs them (each model in its own worker thread). */
  concurrentMs: ReturnType<typeof stats>;
  objectsMs: ReturnType<typeof stats>;
  mobilenetMs: ReturnType<typeof stats>;
  coloursMs: ReturnType<typeof stats>;
}

/**
 * Tagging cost per image, decode excluded: every image is decoded once, then (after one warm-up
 * call) the objects, concepts+feature and colour analyzers run alone, then together; per image the
 * median of `rounds` tries.
 */
export async function tagCost(files: string[], rounds = 3): Promise<TagCost> {
  const analyzers = (await loadDefaultAnalyzers({ download: false })).filter((a) => TAG_ANALYZERS.includes(a.name));
  if (analyzers.length !== TAG_ANALYZERS.length) throw new Error(`tag analyzers missing: have ${analyzers.map((a) => a.name).join(', ')}`);
  const signal = new AbortController().signal;
  const alone = new Map<string, number[]>(TAG_ANALYZERS.map((n) => [n, []]));
  const sequential: number[] = [];
  const concurrent: number[] = [];
  let warm = false;
  for (const file of files) {
    let image;
    try {
      image = await decodeImage(file, file.slice(file.lastIndexOf('/') + 1));
    } catch {
      continue; // not an image this benchmark can use
    }
    if (!warm) {
      await Promise.all(analyzers.map((a) => a.analyze(image, signal)));
      warm = true;
    }
    const each = new Map<string, number[]>(TAG_ANALYZERS.map((n) => [n, []]));
    const together: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const a of analyzers) {
        const t = performance.now();
        await a.analyze(image, signal);
        each.get(a.name)!.push(performance.now() - t);
      }
      const t = performance.now();
      await Promise.all(analyzers.map((a) => a.analyze(image, signal)));
      together.push(performance.now() - t);
    }
    let sum = 0;
    for (const [name, v] of each) {
      const m = stats(v).median;
      alone.get(name)!.push(m);
      sum += m;
    }
    sequential.push(sum);
    concurrent.push(stats(together).median);
  }
  return {
    images: sequential.length,
    sequentialMs: stats(sequential),
    concurrentMs: stats(concurrent),
    objectsMs: stats(alone.get('objects')!),
    mobilenetMs: stats(alone.get('mobilenet')!),
    coloursMs: stats(alone.get('colours')!),
  };
}

function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else if (ch !== '\r') cell += ch;
  }
  if (cell || row.length) rows.push([...row, cell]);
  return rows;
}

async function indexAnonymised(dir: string, files: string[], src: (f: string) => string): Promise<{ catalog: Catalog; nameOf: (rel: string) => string }> {
  mkdirSync(dir, { recursive: true });
  files.forEach((f, i) => copyFileSync(src(f), join(dir, `img-${i}${f.slice(f.lastIndexOf('.'))}`)));
  const catalog = await Catalog.open(dir);
  await indexRoot(catalog, { analyzers: await loadDefaultAnalyzers({ download: false }) });
  return { catalog, nameOf: (rel) => files[Number(/img-(\d+)/.exec(rel)![1])] };
}

async function conceptSearch(catalog: Catalog, truth: Map<string, Set<string>>, nameOf: (rel: string) => string): Promise<{ sum: SetScore; max: SetScore }> {
  const out: Record<string, SetScore> = {};
  for (const aggregate of ['sum', 'max'] as const) {
    const engine = await SearchEngine.load(catalog);
    const signal = new TagSignal(tagVocabulary(), aggregate);
    engine.registerSignal(signal);
    engine.registerFilterProvider(tagFilter(signal));
    out[aggregate] = await scoreSet(engine, truth, nameOf);
  }
  return { sum: out.sum, max: out.max };
}

interface SimilarScore {
  copies: number;
  /** Copies in the top 5 of their original (an original with more than 5 copies cannot hold them all). */
  inTop5: number;
  rate: number;
  /** Copies in the top max(5, copies of that original) of their original. */
  inTopK: number;
  /** Originals in the top 5 of each copy. */
  originalInTop5OfCopy: number;
  misses: string[];
}

async function similarCheck(dir: string): Promise<SimilarScore> {
  const base = join(SHARED_DATA, 'near-duplicates/imagededup/base_images');
  const mixed = join(SHARED_DATA, 'near-duplicates/imagededup/mixed_images');
  mkdirSync(dir, { recursive: true });
  const originals = readdirSync(base).filter((f) => /^ukbench\d+\.jpg$/.test(f));
  const copies: Array<{ original: string; copy: string }> = [];
  for (const f of originals) {
    copyFileSync(join(base, f), join(dir, f));
    const stem = f.replace(/\.jpg$/, '');
    const img = () => sharp(join(base, f));
    const meta = await img().metadata();
    const made: Array<[string, sharp.Sharp]> = [
      ['flip', img().flop()],
      ['half', img().resize(Math.round(meta.width! / 2))],
      ['turn90', img().rotate(90)],
      ['crop80', img().extract({ left: Math.round(meta.width! * 0.1), top: Math.round(meta.height! * 0.1), width: Math.round(meta.width! * 0.8), height: Math.round(meta.height! * 0.8) })],
      ['q40', img().jpeg({ quality: 40 })],
    ];
    for (const [what, s] of made) {
      const name = `${stem}_x${what}.jpg`;
      await s.jpeg({ quality: what === 'q40' ? 40 : 90 }).toFile(join(dir, name));
      copies.push({ original: f, copy: name });
    }
  }
  for (const f of readdirSync(mixed).filter((f) => /_(hflip|resize|rotation)\.jpg$/.test(f))) {
    copyFileSync(join(mixed, f), join(dir, `shipped_${f}`));
    copies.push({ original: `${/^(ukbench\d+)/.exec(f)![1]}.jpg`, copy: `shipped_${f}` });
  }
  const catalog = await Catalog.open(dir);
  try {
    await indexRoot(catalog, { analyzers: await loadDefaultAnalyzers({ download: false }) });
    let inTop5 = 0;
    let inTopK = 0;
    let reverse = 0;
    const misses: string[] = [];
    for (const { original, copy } of copies) {
      const a = await catalog.getAssetByPath(original);
      const siblings = copies.filter((c) => c.original === original).length;
      const top = a ? (await similarImages(dir, catalog, a.id, Math.max(5, siblings))).items.map((h) => h.relPath) : [];
      if (top.slice(0, 5).includes(copy)) inTop5++;
      if (top.includes(copy)) inTopK++;
      else misses.push(`${copy} (top ${top.length} of ${original}: ${top.join(', ')})`);
      const c = await catalog.getAssetByPath(copy);
      const back = c ? (await similarImages(dir, catalog, c.id, 5)).items.map((h) => h.relPath) : [];
      if (back.includes(original)) reverse++;
      else misses.push(`${original} not in the top 5 of ${copy}: ${back.join(', ')}`);
    }
    return { copies: copies.length, inTop5, rate: round(inTop5 / Math.max(1, copies.length), 3), inTopK, originalInTop5OfCopy: reverse, misses };
  } finally {
    await closeEmbeddingIndexes(catalog);
    catalog.close();
  }
}

/**
 * Query-time cost of the tag signal on a big catalog: 100,000 images x 20 labels + 2 objects + 3
 * colours seeded by SQL (random classes and scores: this measures the lookup, not quality).
 */
export async function searchLatency(dir: string, images: number): Promise<Record<string, ReturnType<typeof stats>>> {
  mkdirSync(dir, { recursive: true });
  const catalog = await Catalog.open(dir);
  try {
    await catalog.rawQuery(`INSERT INTO image_labels SELECT i // 20, hash(i) % 1000, (hash(i * 7) % 1000) / 3000.0 FROM range(${images * 20}) t(i)`);
    await catalog.rawQuery(`INSERT INTO image_objects SELECT i // 2, 'yolox-nano', hash(i) % 80, 0.3 + (hash(i * 3) % 700) / 1000.0, 0, 0, 0.5, 0.5 FROM range(${images * 2}) t(i)`);
    await catalog.rawQuery(
      `INSERT INTO image_colours SELECT i // 3, ['red','orange','yellow','green','blue','purple','pink','brown','black','white','grey'][CAST(1 + hash(i) % 11 AS INTEGER)], (hash(i * 5) % 500) / 1000.0 FROM range(${images * 3}) t(i)`,
    );
    const engine = await SearchEngine.load(catalog);
    const ctx = { table: engine.rows, catalog };
    const out: Record<string, ReturnType<typeof stats>> = {};
    // Loading the in-memory tag index (once per root and process, then kept current incrementally).
    const index = new TagIndex(catalog, tagVocabulary());
    const t0 = performance.now();
    await index.sync(ctx);
    out.loadIndex = stats([performance.now() - t0]);
    // Per query word: the work a keystroke does when the query is not cached.
    for (const q of ['bird', 'animal', 'dog', 'red car', 'people', 'flower', 'vehicle']) {
      const groups = tagVocabulary().groups(q.split(' '));
      const times: number[] = [];
      for (let i = 0; i < 12; i++) {
        const t = performance.now();
        index.score(groups, MIN_SEARCH_SCORE);
        if (i >= 2) times.push(performance.now() - t);
      }
      out[q] = stats(times);
    }
    // Through the signal (ranking included), first call of each query on a warm index.
    const signal = new TagSignal();
    await signal.rank({ ...emptyQuery(), terms: ['cat'] }, ctx); // loads its index
    const ranked: number[] = [];
    for (const q of ['bird', 'animal', 'dog', 'red car', 'people', 'flower', 'vehicle']) {
      const t = performance.now();
      await signal.rank({ ...emptyQuery(), terms: q.split(' ') }, ctx);
      ranked.push(performance.now() - t);
    }
    out.signalRankFirstCall = stats(ranked);
    return out;
  } finally {
    catalog.close();
  }
}

export const benchmark: Benchmark = {
  name: NAME,
  async run(): Promise<BenchResult> {
    const startedAt = new Date().toISOString();
    const scratch = join(benchTmpDir(), 'tags');
    removeScratch(scratch);

    log('openclipart: indexing 570 SVGs under anonymised names');
    const clipDir = join(SHARED_DATA, 'text2image/openclipart');
    const rows = parseCsv(readFileSync(join(clipDir, 'captions.csv'), 'utf8'));
    const header = rows[0];
    const fileCol = header.indexOf('file');
    const kwCol = header.indexOf('keywords');
    const clipFiles = rows.slice(1).filter((r) => r[fileCol]).map((r) => ({ file: r[fileCol], keywords: r[kwCol].split(';').map((k) => k.trim().toLowerCase().replace(/_/g, ' ')).filter(Boolean) }));
    const clip = await indexAnonymised(join(scratch, 'openclipart'), clipFiles.map((f) => f.file), (f) => join(clipDir, f));
    const clipTruth = new Map<string, Set<string>>();
    for (const f of clipFiles) for (const k of f.keywords) clipTruth.set(k, new Set([...(clipTruth.get(k) ?? []), f.file]));
    const clipScores = await conceptSearch(clip.catalog, clipTruth, clip.nameOf);
    clip.catalog.close();

    log('nature: indexing 9 photos under anonymised names');
    const natureDir = join(SHARED_DATA, 'text2image/nature');
    const natureFiles = readdirSync(natureDir).filter((f) => f.endsWith('.jpg'));
    const nature = await indexAnonymised(join(scratch, 'nature'), natureFiles, (f) => join(natureDir, f));
    const natureTruth = new Map(Object.entries(NATURE_TRUTH).map(([q, fs]) => [q, new Set(fs)]));
    const natureScores = await conceptSearch(nature.catalog, natureTruth, nature.nameOf);
    nature.catalog.close();

    log('more like this: UKBench originals and transformed copies');
    const similar = await similarCheck(join(scratch, 'similar'));

    const latencyImages = Number(process.env.LOUPE_BENCH_TAG_IMAGES ?? 100_000);
    log(`tag search latency on ${latencyImages} seeded images`);
    const latency = await searchLatency(join(scratch, 'latency'), latencyImages);

    const vectorCount = Number(process.env.LOUPE_BENCH_TAG_VECTORS ?? 100_000);
    log(`more like this at scale: USearch vs brute force over ${vectorCount} 1280-d vectors`);
    const vectorSearch = await measureVectorRecall(1280, vectorCount, 100, ['f32', 'f16']);

    log('tagging cost per image: nature photos, UKBench photos, 40 openclipart drawings');
    const ukbench = join(SHARED_DATA, 'near-duplicates/imagededup/base_images');
    const cost = await tagCost([
      ...natureFiles.map((f) => join(natureDir, f)),
      ...readdirSync(ukbench).filter((f) => /^ukbench\d+\.jpg$/.test(f)).map((f) => join(ukbench, f)),
      ...clipFiles.slice(0, 40).map((f) => join(clipDir, f.file)),
    ]);
    removeScratch(scratch);
    const headline =
      `openclipart ${clipScores.sum.queries} keyword queries: success@10 ${clipScores.sum.success.at10}, MRR ${clipScores.sum.mrr} (max: ${clipScores.max.success.at10} / ${clipScores.max.mrr}); ` +
      `nature ${natureScores.sum.queries} queries: success@5 ${natureScores.sum.success.at5}, MRR ${natureScores.sum.mrr}; ` +
      `objects+concepts+feature+colours median ${cost.concurrentMs.median} ms/image as the indexer runs them (${cost.sequentialMs.median} ms one after another); similar: copies in top 5 of original ${similar.inTop5}/${similar.copies}, in top max(5, copies) ${similar.inTopK}/${similar.copies}, original in top 5 of copy ${similar.originalInTop5OfCopy}/${similar.copies}; ` +
      `at ${vectorCount} vectors USearch f16 recall@10 ${vectorSearch.hnsw.f16?.recallAt10}, ${vectorSearch.speedupVsJsScan.f16}× faster than a JS scan (${vectorSearch.speedupVsSimdScan.f16}× a SIMD scan)`;
    return {
      name: NAME,
      description: 'Concept-tag search quality (openclipart keywords, nature photos), tagging cost per image, and more-like-this on UKBench copies',
      startedAt,
      finishedAt: new Date().toISOString(),
      fullSize: true,
      params: { costRounds: 3, intraOpThreads: Number(process.env.LOUPE_INTRA_OP_THREADS ?? 1), latencyImages: Number(process.env.LOUPE_BENCH_TAG_IMAGES ?? 100_000), vectors: vectorCount },
      machine: machineInfo(),
      notes: [
        'success@k: a relevant image is in the top k; recall@k: relevant images in the top k / min(k, relevant); MRR over queries the vocabulary knows',
        'files are renamed img-N so the file-name signal cannot help; clip-art SVGs are far from the photos the classifiers were trained on',
        'vectorSearch: synthetic clustered 1280-d unit vectors (the shape of the MobileNetV2 feature), HNSW with the product settings (f16 is what "more like this" uses) vs exact top-10 by a JavaScript scan and by USearch\'s SIMD exact search; 100 held-out queries, one thread each',
        'cost is per image on the decoded working image (decode excluded), one image at a time: each analyzer alone (sequentialMs sums them) and all three started together as the indexer runs them (concurrentMs; objects and concepts have separate worker threads)',
      ],
      headline,
      results: { openclipart: clipScores, nature: natureScores, cost, similar, vectorSearch, searchLatencyMs: { images: latencyImages, byQuery: latency } },
    };
  },
};
