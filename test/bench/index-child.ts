/**
 * Child process for index-throughput-1000: indexes one root from scratch with indexRoot and prints
 * one line `LOUPE_BENCH_RESULT {json}` on stdout. Running in its own process makes the peak RSS
 * that of indexing alone (plus the runtime's baseline, reported separately). Progress goes to stderr.
 * Peak RSS is read from VmHWM on Linux: process.resourceUsage().maxRSS of a spawned child includes
 * the parent's RSS at spawn time there (ru_maxrss survives fork+exec); it is reported too.
 *
 * Usage: node --import tsx test/bench/index-child.ts <root> <stateDir> [concurrency]
 */
import { existsSync } from 'node:fs';
import { Catalog } from '../../sidecar/catalog/catalog';
import { defaultAnalyzers } from '../../sidecar/analyzers/default-analyzers';
import type { Analyzer } from '../../sidecar/pipeline/analyzer';
import { defaultConcurrency, indexRoot, type IndexSummary } from '../../sidecar/pipeline/indexer';
import { peakRssMB } from './common';

export const RESULT_PREFIX = 'LOUPE_BENCH_RESULT ';

export interface ChildResult {
  summary: IndexSummary;
  wallSeconds: number;
  concurrency: number;
  /** Analyzers that ran (name@version): indexRoot's defaults unless LOUPE_BENCH_ANALYZERS=none. */
  analyzers: string[];
  /** Peak RSS after loading modules and opening the catalog, before indexing. */
  baselinePeakRssMB: number;
  /** Peak RSS of this process over the whole run (VmHWM on Linux; see peakRssMB in common.ts). */
  peakRssMB: number;
  peakRssSource: 'VmHWM' | 'maxRSS';
  /** process.resourceUsage().maxRSS as reported; on Linux it includes the parent's RSS at spawn time. */
  resourceUsageMaxRssMB: number;
  /** Resident memory sampled as the run progresses (about every 10% of the images): shows growth or leaks. */
  rssSamples: Array<{ done: number; rssMB: number }>;
  userCpuSeconds: number;
  systemCpuSeconds: number;
  catalog: { total: number; ok: number; pending: number; errors: number; byFormat: Record<string, number>; firstFailures: Array<{ relPath: string; code: string; message: string }> };
}

async function main(): Promise<void> {
  const [root, stateDir, concurrencyArg] = process.argv.slice(2);
  if (!root || !stateDir) throw new Error('usage: index-child.ts <root> <stateDir> [concurrency]');
  if (!existsSync(root)) throw new Error(`root ${root} does not exist`);
  const concurrency = concurrencyArg ? Number(concurrencyArg) : defaultConcurrency();
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new Error(`bad concurrency ${concurrencyArg}`);

  const mode = process.env.LOUPE_BENCH_ANALYZERS ?? 'default';
  if (mode !== 'default' && mode !== 'none') throw new Error(`LOUPE_BENCH_ANALYZERS must be "default" or "none", not ${JSON.stringify(mode)}`);
  const analyzers: Analyzer[] = mode === 'none' ? [] : defaultAnalyzers();

  const catalog = await Catalog.open(root, { stateDir });
  try {
    const baseline = peakRssMB();
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    let lastLog = started;
    const rssSamples: ChildResult['rssSamples'] = [];
    let nextSample = 0;
    const summary = await indexRoot(catalog, {
      analyzers,
      concurrency,
      progressIntervalMs: 1000,
      onProgress: (p) => {
        if (p.phase === 'index' && p.total > 0 && p.done >= nextSample) {
          rssSamples.push({ done: p.done, rssMB: Math.round(process.memoryUsage().rss / 2 ** 20) });
          nextSample = p.done + Math.max(1, Math.ceil(p.total / 10));
        }
        const now = performance.now();
        if (now - lastLog < 20_000) return;
        lastLog = now;
        process.stderr.write(`  [index-child] ${p.phase} ${p.done}/${p.total} (${p.rate.toFixed(2)}/s), rss ${Math.round(process.memoryUsage().rss / 2 ** 20)} MB\n`);
      },
    });
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const peak = peakRssMB();
    const s = await catalog.summary(10);
    const result: ChildResult = {
      summary,
      wallSeconds: wallMs / 1000,
      concurrency,
      analyzers: analyzers.map((a) => `${a.name}@${a.version}`),
      baselinePeakRssMB: baseline.peakRssMB,
      peakRssMB: peak.peakRssMB,
      peakRssSource: peak.source,
      resourceUsageMaxRssMB: peak.maxRssMB,
      rssSamples,
      userCpuSeconds: cpu.user / 1e6,
      systemCpuSeconds: cpu.system / 1e6,
      catalog: { total: s.total, ok: s.ok, pending: s.pending, errors: s.errors, byFormat: s.byFormat, firstFailures: s.failures },
    };
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  } finally {
    catalog.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`index-child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
}
