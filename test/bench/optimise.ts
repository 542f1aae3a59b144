/**
 * optimise: bytes saved and time per image by `transformImage` (Loupe's optimisation) on the photos
 * and screenshots in ../shared/data, per output format, side by side with a plain sharp call at
 * default settings and with Debian's ImageMagick `convert` at matching quality, all to the same
 * target size (long side at most LOUPE_BENCH_OPT_SIZE, default 640: the photos are 800 px wide).
 * ImageMagick is optional (apt-get install imagemagick); without it its columns are null.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { transformImage } from '../../sidecar/transform/encode';
import { DEFAULT_QUALITY, type OutputFormat } from '../../sidecar/transform/options';
import { benchTmpDir, envInt, log, machineInfo, removeScratch, round, stats, type Benchmark, type BenchResult, type Stats } from './common';
import { SHARED_DATA } from './fixtures';

const NAME = 'optimise';
const FORMATS: OutputFormat[] = ['webp', 'avif', 'jpeg', 'png'];
const TOOLS = ['loupe', 'sharpDefault', 'imagemagick'] as const;
type Tool = (typeof TOOLS)[number];

interface Run {
  bytes: number | null;
  ms: number | null;
  width: number | null;
  height: number | null;
  error: string | null;
}

interface ImageRow {
  group: string;
  file: string;
  originalBytes: number;
  width: number;
  height: number;
  format: OutputFormat;
  runs: Record<Tool, Run>;
}

interface Summary {
  group: string;
  format: OutputFormat;
  images: number;
  originalBytes: number;
  tools: Record<Tool, { bytes: number | null; savedPercent: number | null; msPerImage: Stats | null; failures: number }>;
}

/** The ImageMagick binary (not a stand-in earlier on PATH). */
function imageMagick(): { bin: string; version: string } | null {
  for (const bin of ['/usr/bin/convert', '/usr/bin/magick', 'convert']) {
    const r = spawnSync(bin, ['-version'], { encoding: 'utf8' });
    if (r.status === 0 && /ImageMagick/.test(r.stdout)) return { bin, version: r.stdout.split('\n')[0] };
  }
  return null;
}

function inputs(): Array<{ group: string; path: string }> {
  const photos = join(SHARED_DATA, 'text2image/nature');
  const shots = join(SHARED_DATA, 'ocr/tesseractjs/images');
  return [
    ...readdirSync(photos).filter((f) => /\.jpe?g$/i.test(f)).sort().map((f) => ({ group: 'photos', path: join(photos, f) })),
    // Screenshots and scanned text: the PNGs (the JPEG/GIF/BMP copies are the same pictures).
    ...readdirSync(shots).filter((f) => /\.png$/i.test(f)).sort().map((f) => ({ group: 'screenshots', path: join(shots, f) })),
  ];
}

interface Output {
  bytes: number;
  width: number | null;
  height: number | null;
}

async function timed(fn: () => Promise<Output>, repeats: number): Promise<Output & { ms: number }> {
  const times: number[] = [];
  let out: Output = { bytes: 0, width: null, height: null };
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    out = await fn();
    times.push(performance.now() - t);
  }
  return { ...out, ms: stats(times).median };
}

const EXT: Record<OutputFormat, string> = { webp: 'webp', avif: 'avif', jpeg: 'jpg', png: 'png', gif: 'gif' };

export const benchmark: Benchmark = {
  name: NAME,
  async run(): Promise<BenchResult> {
    const startedAt = new Date().toISOString();
    const size = envInt('LOUPE_BENCH_OPT_SIZE', 640);
    const repeats = envInt('LOUPE_BENCH_OPT_REPEATS', 3);
    const im = imageMagick();
    const scratch = join(benchTmpDir(), 'optimise');
    mkdirSync(scratch, { recursive: true });
    // Process start-up of `convert`, measured on a 1x1 image, so its per-image time can be shown without it.
    let imStartupMs: number | null = null;
    if (im) {
      const t: number[] = [];
      for (let i = 0; i < 5; i++) {
        const s = performance.now();
        execFileSync(im.bin, ['xc:white', join(scratch, 'startup.png')]);
        t.push(performance.now() - s);
      }
      imStartupMs = stats(t).median;
    } else log('ImageMagick not found: apt-get install imagemagick to compare with it');

    const rows: ImageRow[] = [];
    for (const { group, path } of inputs()) {
      const meta = await sharp(path).metadata();
      for (const format of FORMATS) {
        const quality = DEFAULT_QUALITY[format];
        const runs = {} as Record<Tool, Run>;
        const run = async (tool: Tool, fn: () => Promise<Output>): Promise<void> => {
          try {
            const r = await timed(fn, repeats);
            runs[tool] = { bytes: r.bytes, ms: round(r.ms, 2), width: r.width, height: r.height, error: null };
          } catch (err) {
            runs[tool] = { bytes: null, ms: null, width: null, height: null, error: (err instanceof Error ? err.message : String(err)).split('\n')[0] };
          }
        };
        await run('loupe', async () => {
          const r = await transformImage(path, { maxWidth: size, maxHeight: size, format });
          return { bytes: r.data.length, width: r.width, height: r.height };
        });
        // Plain sharp: resize + toFormat with sharp's own defaults (no mozjpeg, no palette, metadata stripped).
        await run('sharpDefault', async () => {
          const r = await sharp(path).resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true }).toFormat(format).toBuffer({ resolveWithObject: true });
          return { bytes: r.data.length, width: r.info.width, height: r.info.height };
        });
        if (im) {
          const out = join(scratch, `out.${EXT[format]}`);
          // Same target size ('>' = only shrink), same quality number, metadata stripped; PNG8 = palette like Loupe's PNG.
          const target = format === 'png' ? `PNG8:${out}` : out;
          await run('imagemagick', async () => {
            execFileSync(im.bin, [path, '-auto-orient', '-resize', `${size}x${size}>`, '-strip', '-quality', String(quality), target], { stdio: ['ignore', 'ignore', 'pipe'] });
            const m = await sharp(out).metadata().catch(() => null);
            return { bytes: statSync(out).size, width: m?.width ?? null, height: m?.height ?? null };
          });
        } else runs.imagemagick = { bytes: null, ms: null, width: null, height: null, error: 'ImageMagick not installed' };
        rows.push({ group, file: path.slice(SHARED_DATA.length + 1), originalBytes: statSync(path).size, width: meta.width ?? 0, height: meta.height ?? 0, format, runs });
      }
      log(`${path.slice(SHARED_DATA.length + 1)}: ${FORMATS.map((f) => `${f} ${rows.find((r) => r.file === path.slice(SHARED_DATA.length + 1) && r.format === f)?.runs.loupe.bytes}`).join(', ')}`);
    }

    const summaries: Summary[] = [];
    for (const group of ['photos', 'screenshots']) {
      for (const format of FORMATS) {
        const set = rows.filter((r) => r.group === group && r.format === format);
        const originalBytes = set.reduce((a, r) => a + r.originalBytes, 0);
        const tools = {} as Summary['tools'];
        for (const tool of TOOLS) {
          const ok = set.filter((r) => r.runs[tool].bytes !== null);
          const bytes = ok.length === set.length ? ok.reduce((a, r) => a + r.runs[tool].bytes!, 0) : null;
          tools[tool] = {
            bytes,
            savedPercent: bytes === null ? null : round((100 * (originalBytes - bytes)) / originalBytes, 1),
            msPerImage: ok.length ? stats(ok.map((r) => r.runs[tool].ms!), 2) : null,
            failures: set.length - ok.length,
          };
        }
        summaries.push({ group, format, images: set.length, originalBytes, tools });
      }
    }
    removeScratch(scratch);
    const cell = (s: Summary, t: Tool) => {
      const x = s.tools[t];
      return x.bytes === null ? 'n/a' : `${(x.bytes / 1e3).toFixed(0)} KB (${x.savedPercent}% saved) ${x.msPerImage?.median} ms`;
    };
    const table = [
      '| group | format | original | loupe | sharp defaults | ImageMagick |',
      '|---|---|---|---|---|---|',
      ...summaries.map((s) => `| ${s.group} | ${s.format} | ${(s.originalBytes / 1e3).toFixed(0)} KB (${s.images}) | ${cell(s, 'loupe')} | ${cell(s, 'sharpDefault')} | ${cell(s, 'imagemagick')} |`),
    ];
    const webpPhotos = summaries.find((s) => s.group === 'photos' && s.format === 'webp')!;
    return {
      name: NAME,
      description: 'Bytes and time per image for Loupe optimisation vs plain sharp defaults vs ImageMagick convert, same target size, per format',
      startedAt,
      finishedAt: new Date().toISOString(),
      fullSize: size === 640 && repeats === 3,
      params: { targetLongSide: size, repeats, imagemagick: im?.version ?? 'not installed', imStartupMs: imStartupMs === null ? 'n/a' : round(imStartupMs, 1) },
      machine: machineInfo(),
      notes: [
        'Times are medians per image over the repeats, one image at a time, in this process (sharp) or a new convert process (ImageMagick: includes its start-up, measured separately as imStartupMs).',
        `Loupe quality defaults: ${FORMATS.map((f) => `${f} ${DEFAULT_QUALITY[f]}`).join(', ')}; ImageMagick gets the same quality number; sharp defaults are its own (webp 80, avif 50, jpeg 80 without mozjpeg, png without palette).`,
        'Loupe PNG is palette-quantised (lossy) like ImageMagick PNG8; sharp default PNG is lossless.',
        'Screenshots smaller than the target are not enlarged by any tool.',
      ],
      headline: `photos to WebP: loupe ${webpPhotos.tools.loupe.savedPercent}% saved, ${webpPhotos.tools.loupe.msPerImage?.median} ms/image; sharp defaults ${webpPhotos.tools.sharpDefault.savedPercent}%; ImageMagick ${webpPhotos.tools.imagemagick.savedPercent ?? 'n/a'}%`,
      results: { table: table.join('\n'), summaries, images: rows },
    };
  },
};

if (!existsSync(SHARED_DATA)) log(`${SHARED_DATA} is missing: the optimise benchmark needs ../shared/data`);
