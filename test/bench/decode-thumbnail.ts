/**
 * decode-thumbnail: per-image latency of decodeImage (read + hash + sniff + decode to the working
 * image + EXIF) and of writeThumbnail (WebP from the working image), one image at a time,
 * grouped by kind of input.
 */
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DEFAULT_LIMITS, decodeImage, writeThumbnail } from '../../sidecar/decode/decode';
import { benchTmpDir, envInt, log, machineInfo, removeScratch, round, stats, type Benchmark, type BenchResult, type Stats } from './common';
import { ensureJpegPool, LARGE_HEIGHT, LARGE_WIDTH, listJpegs, SHARED_DATA } from './fixtures';

const NAME = 'decode-thumbnail';
const FULL_LARGE = 50;
const FULL_SVGS = 50;
const FULL_REPEATS = 3;

interface ImageTiming {
  file: string;
  bytes: number;
  width: number | null;
  height: number | null;
  workingSize: string | null;
  thumbBytes: number | null;
  decodeMs: number | null;
  thumbnailMs: number | null;
  error: string | null;
}

interface GroupResult {
  group: string;
  images: number;
  failures: number;
  meanBytes: number;
  decodeMs: Stats | null;
  thumbnailMs: Stats | null;
  totalMs: Stats | null;
  perImage: ImageTiming[];
}

export interface DecodeResults {
  repeatsPerImage: number;
  thumbSize: number;
  workingSize: number;
  groups: GroupResult[];
}

function evenlySpaced<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

async function timeImage(absPath: string, thumbsDir: string, repeats: number): Promise<ImageTiming> {
  const decodeTimes: number[] = [];
  const thumbTimes: number[] = [];
  const timing: ImageTiming = {
    file: absPath,
    bytes: statSync(absPath).size,
    width: null,
    height: null,
    workingSize: null,
    thumbBytes: null,
    decodeMs: null,
    thumbnailMs: null,
    error: null,
  };
  try {
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      const image = await decodeImage(absPath, basename(absPath), DEFAULT_LIMITS);
      const t1 = performance.now();
      const name = await writeThumbnail(image, thumbsDir, DEFAULT_LIMITS.thumbSize);
      const t2 = performance.now();
      decodeTimes.push(t1 - t0);
      thumbTimes.push(t2 - t1);
      const thumbPath = join(thumbsDir, name);
      timing.width = image.width;
      timing.height = image.height;
      timing.workingSize = `${image.rgbWidth}x${image.rgbHeight}`;
      timing.thumbBytes = statSync(thumbPath).size;
      rmSync(thumbPath); // writeThumbnail skips existing thumbnails: remove it so every repeat really encodes
    }
    timing.decodeMs = round(median(decodeTimes), 1);
    timing.thumbnailMs = round(median(thumbTimes), 1);
  } catch (err) {
    timing.error = err instanceof Error ? err.message : String(err);
  }
  return timing;
}

async function runGroup(group: string, files: string[], thumbsDir: string, repeats: number): Promise<GroupResult> {
  if (files.length === 0) throw new Error(`${NAME}: the group ${group} has no input files`);
  log(`${NAME}: ${group}: ${files.length} images x ${repeats}`);
  await timeImage(files[0], thumbsDir, 1); // warm-up (code paths, libvips operation cache), not recorded
  const perImage: ImageTiming[] = [];
  for (const f of files) perImage.push(await timeImage(f, thumbsDir, repeats));
  const ok = perImage.filter((p) => p.error === null);
  const dec = ok.map((p) => p.decodeMs ?? 0);
  const th = ok.map((p) => p.thumbnailMs ?? 0);
  return {
    group,
    images: files.length,
    failures: perImage.length - ok.length,
    meanBytes: Math.round(perImage.reduce((a, p) => a + p.bytes, 0) / perImage.length),
    decodeMs: ok.length ? stats(dec, 1) : null,
    thumbnailMs: ok.length ? stats(th, 1) : null,
    totalMs: ok.length ? stats(ok.map((p, i) => dec[i] + th[i]), 1) : null,
    perImage,
  };
}

async function run(): Promise<BenchResult<DecodeResults>> {
  const startedAt = new Date().toISOString();
  const machine = machineInfo();
  const largeCount = envInt('LOUPE_BENCH_DECODE_IMAGES', FULL_LARGE);
  const svgCount = envInt('LOUPE_BENCH_SVGS', FULL_SVGS);
  const repeats = envInt('LOUPE_BENCH_DECODE_REPEATS', FULL_REPEATS);

  const pool = await ensureJpegPool(largeCount);
  const natureDir = join(SHARED_DATA, 'text2image', 'nature');
  const nature = listJpegs(natureDir, false);
  const svgDir = join(SHARED_DATA, 'text2image', 'openclipart', 'svg');
  if (!existsSync(svgDir)) throw new Error(`${NAME}: SVG folder ${svgDir} not found (set LOUPE_BENCH_DATA)`);
  const svgs = evenlySpaced(
    readdirSync(svgDir).filter((f) => f.toLowerCase().endsWith('.svg')).sort().map((f) => join(svgDir, f)),
    svgCount,
  );

  const thumbsDir = join(benchTmpDir(), 'decode-thumbs');
  removeScratch(thumbsDir);
  let groups: GroupResult[];
  try {
    groups = [
      await runGroup(`jpeg-${LARGE_WIDTH}x${LARGE_HEIGHT}`, pool.files.slice(0, largeCount), thumbsDir, repeats),
      await runGroup('jpeg-nature', nature, thumbsDir, repeats),
      await runGroup('svg-openclipart', svgs, thumbsDir, repeats),
    ];
  } finally {
    removeScratch(thumbsDir);
  }

  const fmt = (g: GroupResult) =>
    g.decodeMs && g.thumbnailMs
      ? `${g.group} decode ${g.decodeMs.median} ms (p90 ${g.decodeMs.p90}) + thumb ${g.thumbnailMs.median} ms${g.failures ? `, ${g.failures} failed` : ''}`
      : `${g.group}: all ${g.images} failed`;
  return {
    name: NAME,
    description: 'Per-image decodeImage and writeThumbnail latency (ms), one image at a time, by input group',
    startedAt,
    finishedAt: new Date().toISOString(),
    fullSize: largeCount === FULL_LARGE && svgCount === FULL_SVGS && repeats >= FULL_REPEATS,
    params: { largeJpegs: largeCount, natureJpegs: nature.length, svgs: svgs.length, repeatsPerImage: repeats },
    machine,
    notes: [
      `Each image is decoded and thumbnailed ${repeats} times; its time is the median of those; group stats are over the per-image medians.`,
      'decodeImage includes reading the file, sha256, sniffing, metadata, decode/resize to the working image and EXIF; writeThumbnail encodes the WebP from the working image.',
      'The thumbnail is deleted after each repeat (writeThumbnail skips existing ones). One warm-up image per group is not recorded.',
      `sharp runs with its default libvips concurrency (${machine.sharpConcurrency}); files are in the OS page cache.`,
    ],
    headline: groups.map(fmt).join('; '),
    results: { repeatsPerImage: repeats, thumbSize: DEFAULT_LIMITS.thumbSize, workingSize: DEFAULT_LIMITS.workingSize, groups },
  };
}

export const benchmark: Benchmark = { name: NAME, run };
