/**
 * Shared helpers for the benchmark suite: machine facts, statistics, env-var sizes,
 * the scratch area under os.tmpdir(), and writing bench-results/<name>.json.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, hostname, loadavg, platform, release, arch, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';

/** Repository root (this file lives in <repo>/test/bench). */
export const REPO_ROOT = resolve(__dirname, '..', '..');
export const RESULTS_DIR = join(REPO_ROOT, 'bench-results');

/** Scratch area for generated data; never inside the repository. */
export function benchTmpDir(): string {
  const dir = resolve(process.env.LOUPE_BENCH_DIR ?? join(tmpdir(), 'loupe-bench'));
  if (dir === REPO_ROOT || dir.startsWith(REPO_ROOT + '/')) {
    throw new Error(`LOUPE_BENCH_DIR (${dir}) must not be inside the repository ${REPO_ROOT}`);
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A positive integer from the environment, or the default. Rejects garbage loudly. */
export function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(value) || value < min) {
    throw new Error(`${name}=${JSON.stringify(raw)} is not an integer >= ${min}`);
  }
  return value;
}

export interface Stats {
  n: number;
  median: number;
  mean: number;
  min: number;
  max: number;
  p90: number;
}

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function stats(values: readonly number[], digits = 3): Stats {
  if (values.length === 0) throw new Error('stats() of an empty sample');
  const sorted = [...values].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: round(quantile(sorted, 0.5), digits),
    mean: round(sorted.reduce((a, b) => a + b, 0) / sorted.length, digits),
    min: round(sorted[0], digits),
    max: round(sorted[sorted.length - 1], digits),
    p90: round(quantile(sorted, 0.9), digits),
  };
}

export interface MachineInfo {
  hostname: string;
  platform: string;
  release: string;
  arch: string;
  cpuModel: string;
  cpus: number;
  availableParallelism: number;
  totalMemoryMB: number;
  freeMemoryMBAtStart: number;
  loadAverageAtStart: number[];
  node: string;
  sharp: string;
  libvips: string;
  /** libvips threads per sharp operation (sharp defaults to 1 on glibc without jemalloc). */
  sharpConcurrency: number;
  gitCommit: string | null;
  /** True when the work tree had uncommitted changes (other engineers may be editing it). */
  gitDirty: boolean | null;
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function machineInfo(): MachineInfo {
  const cpuList = cpus();
  const status = git(['status', '--porcelain', '--untracked-files=no']);
  return {
    hostname: hostname(),
    platform: platform(),
    release: release(),
    arch: arch(),
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cpus: cpuList.length,
    availableParallelism: availableParallelism(),
    totalMemoryMB: Math.round(totalmem() / 2 ** 20),
    freeMemoryMBAtStart: Math.round(freemem() / 2 ** 20),
    loadAverageAtStart: loadavg().map((l) => round(l, 2)),
    node: process.version,
    sharp: sharp.versions.sharp ?? 'unknown',
    libvips: sharp.versions.vips,
    sharpConcurrency: sharp.concurrency(),
    gitCommit: git(['rev-parse', 'HEAD']),
    gitDirty: status === null ? null : status.length > 0,
  };
}

/** Everything every result file carries; `results` is benchmark-specific. */
export interface BenchResult<R = unknown> {
  name: string;
  description: string;
  startedAt: string;
  finishedAt: string;
  /** False when an env var shrank the benchmark below its full size. */
  fullSize: boolean;
  params: Record<string, number | string | boolean>;
  machine: MachineInfo;
  /** 1/5/15-minute load averages when the result was written: a busy shared machine shows here. */
  loadAverageAtEnd?: number[];
  notes: string[];
  /** One headline line for the summary printed by run.ts. */
  headline: string;
  results: R;
}

export function writeResult<R>(result: BenchResult<R>): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = join(RESULTS_DIR, `${result.name}.json`);
  const tmp = `${file}.${process.pid}.tmp`;
  const stamped: BenchResult<R> = { ...result, loadAverageAtEnd: loadavg().map((l) => round(l, 2)) };
  writeFileSync(tmp, JSON.stringify(stamped, null, 2) + '\n');
  renameSync(tmp, file);
  return file;
}

/** A generated data set is reused when its marker file holds the same recipe. */
export function markerMatches(markerPath: string, recipe: object): boolean {
  if (!existsSync(markerPath)) return false;
  try {
    return readFileSync(markerPath, 'utf8') === JSON.stringify(recipe);
  } catch {
    return false;
  }
}

export function writeMarker(markerPath: string, recipe: object): void {
  writeFileSync(markerPath, JSON.stringify(recipe));
}

/** Removes a scratch directory, refusing anything outside the benchmark area. */
export function removeScratch(dir: string): void {
  const base = benchTmpDir();
  const abs = resolve(dir);
  if (!abs.startsWith(base + '/')) throw new Error(`refusing to delete ${abs}: not under ${base}`);
  rmSync(abs, { recursive: true, force: true });
}

/**
 * Peak resident memory of this process in MB. On Linux this is VmHWM from /proc/self/status:
 * process.resourceUsage().maxRSS is NOT usable in a spawned child there, because the kernel carries
 * ru_maxrss across fork+exec, so a child reports at least its parent's RSS at spawn time.
 */
export function peakRssMB(): { peakRssMB: number; source: 'VmHWM' | 'maxRSS'; maxRssMB: number } {
  const maxRssMB = round(process.resourceUsage().maxRSS / 1024, 1);
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return { peakRssMB: round(Number(m[1]) / 1024, 1), source: 'VmHWM', maxRssMB };
  } catch {
    // not Linux: fall through
  }
  return { peakRssMB: maxRssMB, source: 'maxRSS', maxRssMB };
}

export function log(message: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${t}] ${message}\n`);
}

export function seconds(ms: number): number {
  return round(ms / 1000, 3);
}

/**
 * Runs `fn` over `items` with at most `limit` in flight, preserving order of results.
 * On the first failure no new item is started and, once the items in flight have settled,
 * that first error is thrown (so no work keeps running behind the caller's back).
 */
export async function mapPool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  const lanes = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length && failure === null) {
      const i = next++;
      try {
        out[i] = await fn(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(lanes);
  if (failure !== null) throw (failure as { error: unknown }).error;
  return out;
}

export interface Benchmark {
  name: string;
  run(): Promise<BenchResult>;
}
