/**
 * Loupe benchmark suite: `npm run bench [-- name ...]`.
 * Each benchmark writes bench-results/<name>.json; this prints a compact summary at the end.
 *
 * Sizes (defaults are the full sizes):
 *   LOUPE_BENCH_FILES=100000          tiny PNGs in the re-scan tree
 *   LOUPE_BENCH_RESCAN_REPEATS=5      indexRoot / scanRoot re-runs
 *   LOUPE_BENCH_IMAGES=1000           large JPEGs indexed by index-throughput-1000
 *   LOUPE_BENCH_REPEATS=1             index-throughput runs
 *   LOUPE_BENCH_CONCURRENCY=          indexRoot concurrency (default: the indexer's own default)
 *   LOUPE_BENCH_ANALYZERS=default     index-throughput analyzers: default (indexRoot's) or none
 *   LOUPE_BENCH_DECODE_IMAGES=50      large JPEGs in decode-thumbnail
 *   LOUPE_BENCH_SVGS=50               SVGs in decode-thumbnail
 *   LOUPE_BENCH_DECODE_REPEATS=3      repeats per image in decode-thumbnail
 *   LOUPE_BENCH_DIR=$TMPDIR/loupe-bench   where generated data lives (reused between runs)
 *   LOUPE_BENCH_DATA=/work/shared/data    source photos and SVGs
 *   LOUPE_BENCH_CLIP_LAYERS=12, LOUPE_BENCH_CLIP_IMAGES=32, LOUPE_BENCH_CLIP_SIZES=10000,100000   clip (see clip.ts)
 *   LOUPE_BENCH_OPT_SIZE=640          optimise: target long side
 *   LOUPE_BENCH_OPT_REPEATS=3         optimise: repeats per image, tool and format
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { benchmark as decodeThumbnail } from './decode-thumbnail';
import { benchmark as indexThroughput } from './index-throughput-1000';
import { benchmark as rescan } from './rescan-100k';
import { benchmark as pdq } from './pdq';
import { benchmark as duplicatesQuality } from './duplicates-quality';
import { benchmark as searchEngine } from './search-engine';
import { benchmark as serverSearch } from './server-search';
import { benchmark as faces } from './faces';
import { benchmark as sidecarStartup } from './sidecar-startup';
import { benchmark as panelGrid, galleryBenchmark as galleryGrid } from './panel-grid';
import { benchmark as ocr } from './ocr';
import { benchmark as clip } from './clip';
import { benchmark as tags } from './tags';
import { benchmark as optimise } from './optimise';
import { log, REPO_ROOT, RESULTS_DIR, writeResult, type Benchmark, type BenchResult } from './common';

// Benchmarks use the real model weights in ../shared/models unless LOUPE_MODELS_DIR says otherwise.
const sharedModels = join(__dirname, '..', '..', '..', 'shared', 'models');
if (!process.env.LOUPE_MODELS_DIR && existsSync(sharedModels)) process.env.LOUPE_MODELS_DIR = sharedModels;

const ALL: Benchmark[] = [rescan, indexThroughput, decodeThumbnail, pdq, duplicatesQuality, searchEngine, serverSearch, faces, ocr, clip, tags, optimise, sidecarStartup, panelGrid, galleryGrid];

interface Outcome {
  name: string;
  ok: boolean;
  seconds: number;
  file: string | null;
  error: string | null;
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--list') || args.includes('--help')) {
    process.stdout.write(`benchmarks: ${ALL.map((b) => b.name).join(', ')}\nusage: npm run bench [-- name ...]\n`);
    return 0;
  }
  const unknown = args.filter((a) => !ALL.some((b) => b.name === a));
  if (unknown.length > 0) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; known: ${ALL.map((b) => b.name).join(', ')}\n`);
    return 2;
  }
  const selected = args.length > 0 ? ALL.filter((b) => args.includes(b.name)) : ALL;

  const outcomes: Outcome[] = [];
  for (const b of selected) {
    log(`=== ${b.name} ===`);
    const started = performance.now();
    try {
      const result = await b.run();
      const file = writeResult(result);
      outcomes.push({ name: b.name, ok: true, seconds: (performance.now() - started) / 1000, file, error: null });
      log(`${b.name}: ${result.headline}`);
    } catch (err) {
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      outcomes.push({ name: b.name, ok: false, seconds: (performance.now() - started) / 1000, file: null, error: message });
      log(`${b.name} FAILED: ${message}`);
    }
  }

  // Summary, read back from the JSON files so it shows exactly what was recorded.
  const lines: string[] = ['', `Benchmark summary (results in ${relative(REPO_ROOT, RESULTS_DIR)}/)`];
  const width = Math.max(...selected.map((b) => b.name.length)) + 2;
  for (const o of outcomes) {
    if (!o.ok || !o.file) {
      lines.push(`${pad(o.name, width)}FAILED after ${o.seconds.toFixed(0)} s: ${(o.error ?? '').split('\n')[0]}`);
      continue;
    }
    const recorded = JSON.parse(readFileSync(o.file, 'utf8')) as BenchResult;
    const size = recorded.fullSize ? '' : ' [reduced size]';
    const load = recorded.loadAverageAtEnd ? `, load ${recorded.machine.loadAverageAtStart[0]}->${recorded.loadAverageAtEnd[0]}` : '';
    lines.push(`${pad(o.name, width)}${recorded.headline}${size}  (${o.seconds.toFixed(0)} s${load})`);
  }
  const first = outcomes.find((o) => o.file);
  if (first?.file) {
    const m = (JSON.parse(readFileSync(first.file, 'utf8')) as BenchResult).machine;
    lines.push(
      `machine: ${m.cpus} x ${m.cpuModel}, ${m.totalMemoryMB} MB RAM, node ${m.node}, sharp ${m.sharp} (libvips ${m.libvips}), ` +
        `load average at start ${m.loadAverageAtStart.join(' ')}`,
    );
  }
  process.stdout.write(lines.join('\n') + '\n');
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench runner failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
