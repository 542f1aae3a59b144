/**
 * index-throughput-1000: indexing 1,000 large (4000x3000, quality 85) JPEGs from scratch with indexRoot
 * (decode + working image + thumbnail + catalog; no analyzers), in a child process so its peak RSS
 * is the indexing process's own.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { benchTmpDir, envInt, log, machineInfo, REPO_ROOT, removeScratch, round, stats, type Benchmark, type BenchResult, type Stats } from './common';
import { ensureJpegPool, LARGE_HEIGHT, LARGE_WIDTH, linkedRoot } from './fixtures';
import { RESULT_PREFIX, type ChildResult } from './index-child';

const NAME = 'index-throughput-1000';
const FULL_IMAGES = 1000;

export interface ThroughputResults {
  root: string;
  images: number;
  totalBytes: number;
  pool: { dir: string; sources: number; skippedSources: string[]; generatedNow: number; generationSeconds: number | null };
  concurrency: number;
  imagesPerSecond: Stats;
  totalSeconds: Stats;
  peakRssMB: Stats;
  runs: ChildResult[];
}

function runChild(root: string, stateDir: string, concurrency: number | null): Promise<ChildResult> {
  const script = join(__dirname, 'index-child.ts');
  const args = ['--import', 'tsx', script, root, stateDir];
  if (concurrency !== null) args.push(String(concurrency));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      process.stderr.write(chunk);
      stderrTail = (stderrTail + chunk).slice(-4000);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(new Error(`index child exited with ${signal ?? `code ${code}`}\n${stderrTail.trim()}`));
        return;
      }
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (!line) {
        reject(new Error(`index child printed no result line; stdout was:\n${stdout.slice(-2000)}`));
        return;
      }
      try {
        resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult);
      } catch (err) {
        reject(new Error(`index child printed unparsable JSON: ${err instanceof Error ? err.message : String(err)}`));
      }
    });
  });
}

async function run(): Promise<BenchResult<ThroughputResults>> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const images = envInt('LOUPE_BENCH_IMAGES', FULL_IMAGES);
  const repeats = envInt('LOUPE_BENCH_REPEATS', 1);
  const concurrencyEnv = process.env.LOUPE_BENCH_CONCURRENCY ? envInt('LOUPE_BENCH_CONCURRENCY', 1) : null;

  const pool = await ensureJpegPool(images);
  const root = linkedRoot(pool, images);
  const totalBytes = pool.files.slice(0, images).reduce((a, f) => a + statSync(f).size, 0);

  const runs: ChildResult[] = [];
  for (let i = 0; i < repeats; i++) {
    const stateDir = join(benchTmpDir(), 'index-state');
    removeScratch(stateDir);
    log(`${NAME}: indexing ${images} JPEGs from scratch in a child process (run ${i + 1}/${repeats})`);
    try {
      const r = await runChild(root, stateDir, concurrencyEnv);
      const s = r.summary;
      if (s.processed !== images || s.failed !== 0 || s.scan.added !== images || r.catalog.ok !== images) {
        const failures = r.catalog.firstFailures.map((f) => `${f.relPath}: ${f.code} ${f.message}`).join('; ');
        throw new Error(`run ${i + 1}: expected ${images} images indexed ok, got processed=${s.processed} failed=${s.failed} added=${s.scan.added} ok=${r.catalog.ok}. ${failures}`);
      }
      runs.push(r);
      log(`${NAME}: ${s.imagesPerSecond.toFixed(2)} images/s, ${r.wallSeconds.toFixed(1)} s, peak RSS ${r.peakRssMB} MB`);
    } finally {
      removeScratch(stateDir);
    }
  }

  const ips = stats(runs.map((r) => r.summary.imagesPerSecond));
  const total = stats(runs.map((r) => r.summary.durationMs / 1000));
  const rss = stats(runs.map((r) => r.peakRssMB), 1);
  const concurrency = runs[0].concurrency;
  const analyzers = runs[0].analyzers.length ? runs[0].analyzers.join(', ') : 'none';
  const cpuPerImageMs = runs.map((r) => ((r.userCpuSeconds + r.systemCpuSeconds) * 1000) / images);
  return {
    name: NAME,
    description: `indexRoot from scratch over ${images} JPEGs of ${LARGE_WIDTH}x${LARGE_HEIGHT} (analyzers: ${analyzers}), in a child process`,
    startedAt,
    finishedAt: new Date().toISOString(),
    fullSize: images === FULL_IMAGES,
    params: { images, repeats, concurrency, analyzers, width: LARGE_WIDTH, height: LARGE_HEIGHT, quality: 85 },
    machine,
    notes: [
      `indexRoot runs with ${process.env.LOUPE_BENCH_ANALYZERS === 'none' ? 'no analyzers (LOUPE_BENCH_ANALYZERS=none)' : "the default analyzers (set LOUPE_BENCH_ANALYZERS=none for decode + thumbnail + catalog only)"}: ${analyzers}.`,
      'Images are upscaled from the real photos in /work/shared/data (crop offset, flip, brightness/saturation vary; mild grain added so they compress like photos), hard-linked into the indexed root.',
      'Files were generated earlier and are in the OS page cache (warm reads).',
      `Peak RSS is the child's own high-water mark (${runs[0].peakRssSource}), which includes the Node/tsx runtime and the open catalog (baselinePeakRssMB) as well as indexing. ` +
        "process.resourceUsage().maxRSS is also recorded (resourceUsageMaxRssMB) but on Linux it is not the child's own: ru_maxrss survives fork+exec, so it is at least the parent runner's RSS at spawn time.",
      `imagesPerSecond is IndexSummary.imagesPerSecond (processed / total duration including the scan). CPU per image: ${cpuPerImageMs.map((c) => round(c, 0)).join(', ')} ms.`,
    ],
    headline:
      `${ips.median.toFixed(2)} images/s, ${total.median.toFixed(1)} s for ${images} images, peak RSS ${rss.median} MB ` +
      `(${runs[0].baselinePeakRssMB} MB before indexing), concurrency ${concurrency}, analyzers: ${analyzers}${repeats > 1 ? `, ${repeats} runs` : ''}`,
    results: {
      root,
      images,
      totalBytes,
      pool: { dir: pool.dir, sources: pool.sources, skippedSources: pool.skippedSources, generatedNow: pool.generated, generationSeconds: pool.generationSeconds === null ? null : round(pool.generationSeconds, 1) },
      concurrency,
      imagesPerSecond: ips,
      totalSeconds: total,
      peakRssMB: rss,
      runs,
    },
  };
}

export const benchmark: Benchmark = { name: NAME, run };
