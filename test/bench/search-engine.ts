/**
 * search-engine: latency of SearchEngine.search over a 100,000-row catalog for representative
 * non-semantic queries (target: p50 well under 5 ms, the budget for a keystroke over WebSocket;
 * the engine itself should take about 1 ms), plus load time, heap growth, paging and update costs.
 *
 * Seeding: one INSERT ... SELECT ... FROM range(N) writes synthetic 'ok' assets straight into the
 * catalog (no image files): camera photos in dated event folders, phone shots, screenshots, design
 * files with camelCase and kebab-case names, downloads; varied dates, cameras, formats, sizes, shapes.
 *
 * Run alone: node --import tsx test/bench/search-engine.ts   (LOUPE_BENCH_SEARCH_ROWS, LOUPE_BENCH_SEARCH_ITERATIONS)
 */
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Catalog } from '../../sidecar/catalog/catalog';
import { SearchEngine } from '../../sidecar/search/engine';
import type { SearchableAsset } from '../../sidecar/search/types';
import { benchTmpDir, envInt, log, machineInfo, removeScratch, round, writeResult, type Benchmark, type BenchResult } from './common';

const NAME = 'search-engine';
const FULL_ROWS = 100_000;
const FULL_ITERATIONS = 300;
const TARGET_P50_MS = 5;

export const QUERIES: Array<{ query: string; what: string }> = [
  { query: 'beach', what: 'one word (event folders and design names)' },
  { query: 'sunset beach', what: 'two words, all-words-beat-some-words' },
  { query: '"red flower"', what: 'quoted phrase' },
  { query: 'beac', what: 'prefix while typing' },
  { query: 'img', what: 'very broad word (every camera photo)' },
  { query: 'screenshot 2021', what: 'word + number' },
  { query: 'redflower', what: 'substring across a camelCase boundary' },
  { query: 'folder:wedding', what: 'filter only: folder' },
  { query: 'camera:canon date:2019', what: 'filter only: camera + year' },
  { query: 'ext:png size:>1mb', what: 'filter only: format + size' },
  { query: 'is:portrait width:>2000', what: 'filter only: orientation + width' },
  { query: 'flowers after:2020 folder:photos', what: 'word + date + folder' },
  { query: 'dog camera:iphone', what: 'word + camera' },
  { query: '', what: 'empty query: everything, newest first' },
];

/** The synthetic library, generated in SQL. */
export async function seedSyntheticCatalog(catalog: Catalog, rows: number): Promise<void> {
  await catalog.rawQuery(`
    INSERT INTO assets (rel_path, size, mtime_ms, content_hash, format, width, height, taken_at, camera_make, camera_model,
                        orientation, status, thumb, analyzer_versions)
    WITH base AS (
      SELECT i,
        i % 10 AS kind,
        ['beach','sunset','wedding','birthday','hiking','garden','flowers','family','christmas','paris',
         'london','tokyo','mountains','lake','dog','cat','concert','graduation','snow','forest'] AS words,
        ['red','blue','green','golden','misty','quiet','bright','dark','old','tiny'] AS adjs,
        ['flower','beach','tree','bridge','house','logo','icon','banner','poster','wave'] AS nouns,
        TIMESTAMP '2008-01-01' + to_seconds(CAST(hash(i, 'date') % 536000000 AS BIGINT)) AS ts,
        CAST(hash(i, 'camera') % 6 AS INTEGER) + 1 AS cam,
        CAST(hash(i, 'size') % 12000000 AS BIGINT) + 40000 AS bytes,
        CAST(hash(i, 'shape') % 10 AS INTEGER) AS shape
      FROM range(${rows}) t(i)
    ),
    named AS (
      SELECT *,
        words[CAST(hash(strftime(ts, '%Y-%m'), 'event') % 20 AS INTEGER) + 1] AS event,
        words[CAST(hash(i, 'w') % 20 AS INTEGER) + 1] AS word,
        adjs[CAST(hash(i, 'adj') % 10 AS INTEGER) + 1] AS adj,
        nouns[CAST(hash(i, 'noun') % 10 AS INTEGER) + 1] AS noun,
        strftime(ts, '%Y') AS yyyy,
        strftime(ts, '%m') AS mm
      FROM base
    )
    SELECT
      CASE
        WHEN kind < 6 THEN 'photos/' || yyyy || '/' || yyyy || '-' || mm || ' ' || event || '/IMG_' || lpad(CAST(i AS VARCHAR), 6, '0') || '.jpg'
        WHEN kind = 6 THEN 'phone/Camera/PXL_' || strftime(ts, '%Y%m%d_%H%M%S') || lpad(CAST(i % 1000 AS VARCHAR), 3, '0') || '.jpg'
        WHEN kind = 7 THEN 'screenshots/Screenshot ' || strftime(ts, '%Y-%m-%d at %H.%M.%S') || '-' || i || '.png'
        WHEN kind = 8 THEN 'design/' || word || '-site/' || upper(adj[1]) || adj[2:] || upper(noun[1]) || noun[2:] || '_v' || (i % 9 + 1) || '_' || i || (CASE WHEN i % 2 = 0 THEN '.svg' ELSE '.png' END)
        ELSE 'downloads/' || adj || '-' || noun || '-' || word || '-' || i || '.webp'
      END,
      bytes, 0, md5(CAST(i AS VARCHAR)),
      CASE WHEN kind < 7 THEN 'jpeg' WHEN kind = 7 THEN 'png' WHEN kind = 8 THEN (CASE WHEN i % 2 = 0 THEN 'svg' ELSE 'png' END) ELSE 'webp' END,
      CASE WHEN kind = 8 THEN 512 WHEN kind = 7 THEN 2560 WHEN shape < 3 THEN 4000 WHEN shape < 5 THEN 3024 ELSE 6000 END,
      CASE WHEN kind = 8 THEN 512 WHEN kind = 7 THEN 1600 WHEN shape < 3 THEN 6000 WHEN shape < 5 THEN 4032 ELSE 4000 END,
      CASE WHEN kind < 7 THEN strftime(ts, '%Y-%m-%dT%H:%M:%S') ELSE NULL END,
      CASE WHEN kind = 6 THEN 'Google' WHEN kind < 6 THEN ['Canon','NIKON CORPORATION','Apple','SONY','FUJIFILM','samsung'][cam] ELSE NULL END,
      CASE WHEN kind = 6 THEN 'Pixel 6' WHEN kind < 6 THEN ['Canon EOS 5D Mark IV','NIKON D750','iPhone 12 Pro','ILCE-7M3','X-T3','SM-G991B'][cam] ELSE NULL END,
      CASE WHEN kind < 7 THEN 1 ELSE NULL END,
      'ok', md5(CAST(i AS VARCHAR)) || '.webp', '{}'
    FROM named
  `);
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function latency(samples: number[]): { p50: number; p90: number; p99: number; mean: number; max: number; n: number } {
  const s = [...samples].sort((a, b) => a - b);
  return {
    p50: round(quantile(s, 0.5), 4),
    p90: round(quantile(s, 0.9), 4),
    p99: round(quantile(s, 0.99), 4),
    mean: round(s.reduce((a, b) => a + b, 0) / s.length, 4),
    max: round(s[s.length - 1], 4),
    n: s.length,
  };
}

async function timeAsync(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** A full collection (several rounds, letting finalizers run in between), or null when gc is unavailable. */
function collectGarbage(): (() => Promise<void>) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    return async () => {
      for (let i = 0; i < 4; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
      }
    };
  } catch {
    return null;
  }
}

export interface SearchBenchResults {
  rows: number;
  seedSeconds: number;
  load: { ms: number; loadSearchRowsMs: number; heapGrowthMB: number | null; arrayBufferGrowthMB: number | null; reloadMs: number };
  queries: Array<{ query: string; what: string; total: number; ms: ReturnType<typeof latency> }>;
  overall: { p50OfP50s: number; worstP50: number; worstP99: number };
  typing: { sequence: string[]; msPerKeystroke: ReturnType<typeof latency> };
  paging: { query: string; page2ms: ReturnType<typeof latency> };
  updates: { upsert100ms: ReturnType<typeof latency>; refresh100ms: ReturnType<typeof latency>; remove100ms: ReturnType<typeof latency> };
  target: { metric: string; ms: number; met: boolean | null };
  processMaxRssMB: number;
}

export async function runSearchBenchmark(): Promise<BenchResult<SearchBenchResults>> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const rows = envInt('LOUPE_BENCH_SEARCH_ROWS', FULL_ROWS);
  const iterations = envInt('LOUPE_BENCH_SEARCH_ITERATIONS', FULL_ITERATIONS);
  const scratch = join(benchTmpDir(), 'search-engine');
  removeScratch(scratch);
  const catalog = await Catalog.open(join(scratch, 'root'), { stateDir: join(scratch, 'state') });
  const gc = collectGarbage();
  try {
    log(`seeding ${rows} synthetic assets`);
    const seedMs = await timeAsync(() => seedSyntheticCatalog(catalog, rows));

    const loadRowsMs = await timeAsync(() => catalog.loadSearchRows());
    await gc?.();
    const before = process.memoryUsage();
    let engine!: SearchEngine;
    const loadMs = await timeAsync(async () => {
      engine = await SearchEngine.load(catalog);
    });
    await gc?.();
    const afterLoad = process.memoryUsage();
    if (engine.size !== rows) throw new Error(`engine holds ${engine.size} rows, expected ${rows}`);
    log(`engine loaded in ${loadMs.toFixed(0)} ms`);

    const queries: SearchBenchResults['queries'] = [];
    for (const { query, what } of QUERIES) {
      const first = await engine.search({ query });
      for (let i = 0; i < 20; i++) await engine.search({ query });
      const samples: number[] = [];
      for (let i = 0; i < iterations; i++) samples.push(await timeAsync(() => engine.search({ query })));
      queries.push({ query, what, total: first.total, ms: latency(samples) });
      log(`${JSON.stringify(query)}: ${first.total} results, p50 ${latency(samples).p50.toFixed(3)} ms`);
    }

    const sequence = ['b', 'be', 'bea', 'beac', 'beach', 'beach ', 'beach s', 'beach su', 'beach sun', 'beach suns', 'beach sunse', 'beach sunset'];
    const typing: number[] = [];
    for (let r = 0; r < Math.max(10, iterations / 10); r++) for (const q of sequence) typing.push(await timeAsync(() => engine.search({ query: q })));

    const pagingQuery = 'img';
    const page1 = await engine.search({ query: pagingQuery, limit: 50 });
    const page2: number[] = [];
    for (let i = 0; i < Math.max(20, iterations / 5); i++) {
      page2.push(await timeAsync(() => engine.search({ query: pagingQuery, limit: 50, cursor: page1.nextCursor })));
    }

    // Updates: the server applies index batches between searches.
    const sample = (await catalog.loadSearchRows()).slice(0, 100);
    const upserts: number[] = [];
    const removes: number[] = [];
    const refreshes: number[] = [];
    for (let r = 0; r < 20; r++) {
      const renamed: SearchableAsset[] = sample.map((a) => ({ ...a, relPath: a.relPath.replace(/\.(\w+)$/, `_r${r}.$1`) }));
      upserts.push(await timeAsync(async () => engine.upsert(renamed)));
      removes.push(await timeAsync(async () => engine.remove(sample.map((a) => a.id))));
      refreshes.push(await timeAsync(() => engine.refresh(sample.map((a) => a.id))));
    }
    const reloadMs = await timeAsync(() => engine.reload());

    const p50s = queries.map((q) => q.ms.p50).sort((a, b) => a - b);
    const worstP50 = Math.max(...p50s);
    const fullSize = rows === FULL_ROWS && iterations >= FULL_ITERATIONS;
    const met = fullSize ? worstP50 < TARGET_P50_MS : null;
    const results: SearchBenchResults = {
      rows,
      seedSeconds: round(seedMs / 1000, 2),
      load: {
        ms: Math.round(loadMs),
        loadSearchRowsMs: Math.round(loadRowsMs),
        heapGrowthMB: gc ? round((afterLoad.heapUsed - before.heapUsed) / 2 ** 20, 1) : null,
        arrayBufferGrowthMB: gc ? round((afterLoad.arrayBuffers - before.arrayBuffers) / 2 ** 20, 1) : null,
        reloadMs: Math.round(reloadMs),
      },
      queries,
      overall: { p50OfP50s: round(quantile(p50s, 0.5), 4), worstP50: round(worstP50, 4), worstP99: round(Math.max(...queries.map((q) => q.ms.p99)), 4) },
      typing: { sequence, msPerKeystroke: latency(typing) },
      paging: { query: pagingQuery, page2ms: latency(page2) },
      updates: { upsert100ms: latency(upserts), refresh100ms: latency(refreshes), remove100ms: latency(removes) },
      target: { metric: `worst per-query p50 of engine.search at ${FULL_ROWS} rows (in-process, no WebSocket)`, ms: TARGET_P50_MS, met },
      processMaxRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    return {
      name: NAME,
      description: `SearchEngine.search latency over ${rows} synthetic catalog rows, ${QUERIES.length} non-semantic queries`,
      startedAt,
      finishedAt: new Date().toISOString(),
      fullSize,
      params: { rows, iterations, queries: QUERIES.length },
      machine,
      notes: [
        'In-process: await engine.search(...) timed with performance.now(); no WebSocket, no JSON encoding.',
        `Each query: 20 warm-up runs, then ${iterations} timed runs (limit 50, first page).`,
        'heapGrowthMB / arrayBufferGrowthMB: heapUsed / arrayBuffers (typed-array memory, outside the JS heap) after a forced GC with the engine loaded, minus before loading (null without gc).',
        'updates: a batch of 100 renamed assets (upsert), removing them, and refresh() re-reading them from the catalog.',
      ],
      headline:
        `p50 over queries ${results.overall.p50OfP50s.toFixed(3)} ms, worst p50 ${worstP50.toFixed(3)} ms, worst p99 ` +
        `${results.overall.worstP99.toFixed(3)} ms at ${rows} rows (${met === null ? 'reduced size' : met ? 'target < 5 ms met' : 'target < 5 ms MISSED'}); ` +
        `load ${results.load.ms} ms, heap +${results.load.heapGrowthMB ?? '?'} MB (+${results.load.arrayBufferGrowthMB ?? '?'} MB typed arrays)`,
      results,
    };
  } finally {
    catalog.close();
    removeScratch(scratch);
  }
}

export const benchmark: Benchmark = { name: NAME, run: runSearchBenchmark };

if (require.main === module) {
  runSearchBenchmark().then(
    (result) => {
      const file = writeResult(result);
      process.stdout.write(`${result.headline}\n${file}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
