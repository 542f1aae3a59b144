/**
 * Generated benchmark data, kept under os.tmpdir() and reused between runs:
 *  - a tree of many tiny (8x8) PNGs for the re-scan benchmark;
 *  - a pool of large 4000x3000 JPEGs upscaled from the real photos in /work/shared/data.
 * Each data set has a marker file (next to it, never inside the tree) holding its recipe;
 * a different recipe means the data set is rebuilt.
 */
import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { benchTmpDir, log, mapPool, markerMatches, removeScratch, writeMarker } from './common';

export const SHARED_DATA = process.env.LOUPE_BENCH_DATA ?? '/work/shared/data';

/** Small deterministic PRNG (mulberry32) so generated data is the same on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

// ---------------------------------------------------------------------------------------------
// Tiny PNG tree
// ---------------------------------------------------------------------------------------------

export interface PngTree {
  root: string;
  files: number;
  folders: number;
  variants: number;
  /** sha256 of each distinct PNG, indexed by variant number (the `_v<k>` in each file name). */
  variantHashes: string[];
  reused: boolean;
  generationSeconds: number | null;
}

const PNG_VARIANTS = 50;
const PNG_TREE_RECIPE_VERSION = 1;

/** The folders files are spread over: 10 top folders x 10 sub-folders (depth 2), each with 9 leaf folders (depth 3). */
function treeFolders(count: number): string[] {
  const out: string[] = [];
  for (let t = 0; t < 10; t++) {
    for (let m = 0; m < 10; m++) {
      const mid = `d${t}/s${m}`;
      out.push(mid);
      for (let l = 0; l < 9; l++) out.push(`${mid}/leaf${l}`);
    }
  }
  // Taking a prefix keeps both depths in a reduced run (each depth-2 folder comes with its leaves).
  return out.slice(0, Math.max(1, Math.min(count, out.length)));
}

async function makeTinyPngs(count: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  for (let v = 0; out.length < count; v++) {
    if (v > count * 10) throw new Error('could not generate distinct PNG variants');
    const rand = prng(1000 + v);
    const px = Buffer.alloc(8 * 8 * 3);
    // A gradient with random colours and a little noise: varied, still compressible like real icons.
    const base = [rand() * 255, rand() * 255, rand() * 255];
    const step = [rand() * 24 - 12, rand() * 24 - 12, rand() * 24 - 12];
    for (let y = 0; y < 8; y++) {
      for (let x = 0; x < 8; x++) {
        for (let c = 0; c < 3; c++) {
          const value = base[c] + step[c] * (x + y) + (rand() - 0.5) * 30;
          px[(y * 8 + x) * 3 + c] = Math.max(0, Math.min(255, Math.round(value)));
        }
      }
    }
    const png = await sharp(px, { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer();
    const h = sha256(png);
    if (seen.has(h)) continue;
    seen.add(h);
    out.push(png);
  }
  return out;
}

export function tinyPngRelPath(index: number, folders: readonly string[], variants: number): { relPath: string; variant: number } {
  const variant = (index * 7 + Math.floor(index / folders.length)) % variants;
  const folder = folders[index % folders.length];
  return { relPath: `${folder}/img-${String(index).padStart(6, '0')}_v${variant}.png`, variant };
}

/** A tree of `files` tiny PNGs spread over ~files/100 folders (at most 1,000), reused when present. */
export async function ensurePngTree(files: number): Promise<PngTree> {
  const base = join(benchTmpDir(), 'png-tree');
  mkdirSync(base, { recursive: true });
  const root = join(base, `tree-${files}`);
  const marker = join(base, `tree-${files}.json`);
  const folders = treeFolders(Math.ceil(files / 100));
  const pngs = await makeTinyPngs(PNG_VARIANTS);
  const variantHashes = pngs.map(sha256);
  const recipe = { version: PNG_TREE_RECIPE_VERSION, files, folders: folders.length, variantHashes };
  if (markerMatches(marker, recipe) && existsSync(root)) {
    return { root, files, folders: folders.length, variants: pngs.length, variantHashes, reused: true, generationSeconds: null };
  }
  log(`generating ${files} tiny PNGs in ${folders.length} folders under ${root}`);
  const started = performance.now();
  removeScratch(root);
  for (const f of folders) mkdirSync(join(root, f), { recursive: true });
  for (let i = 0; i < files; i++) {
    const { relPath, variant } = tinyPngRelPath(i, folders, pngs.length);
    writeFileSync(join(root, relPath), pngs[variant]);
    if ((i + 1) % 20000 === 0) log(`  ${i + 1}/${files} files written`);
  }
  writeMarker(marker, recipe);
  const generationSeconds = (performance.now() - started) / 1000;
  log(`generated the PNG tree in ${generationSeconds.toFixed(1)} s`);
  return { root, files, folders: folders.length, variants: pngs.length, variantHashes, reused: false, generationSeconds };
}

// ---------------------------------------------------------------------------------------------
// Large JPEG pool
// ---------------------------------------------------------------------------------------------

export const LARGE_WIDTH = 4000;
export const LARGE_HEIGHT = 3000;
const LARGE_QUALITY = 85;
const LARGE_RECIPE_VERSION = 1;
/** Film-grain-like noise amplitude (+/-) added so files compress like photos rather than smooth upscales. */
const GRAIN = 12;

export function listJpegs(dir: string, recursive: boolean): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory() && recursive) out.push(...listJpegs(p, true));
    else if (entry.isFile() && /\.jpe?g$/i.test(entry.name)) out.push(p);
  }
  return out.sort();
}

/** Real photos to upscale; unreadable ones (the data set has a deliberately corrupt JPEG) are skipped. */
async function photoSources(): Promise<{ usable: string[]; skipped: string[] }> {
  const candidates = [
    ...listJpegs(join(SHARED_DATA, 'text2image', 'nature'), false),
    ...listJpegs(join(SHARED_DATA, 'near-duplicates', 'imagededup', 'mixed_images'), false),
    ...listJpegs(join(SHARED_DATA, 'faces', 'lfw10'), true),
  ];
  if (candidates.length === 0) {
    throw new Error(`no source photos found under ${SHARED_DATA} (text2image/nature, near-duplicates/imagededup/mixed_images, faces/lfw10); set LOUPE_BENCH_DATA`);
  }
  const usable: string[] = [];
  const skipped: string[] = [];
  await mapPool(candidates, 2, async (path) => {
    try {
      await sharp(path, { failOn: 'truncated' }).resize(16, 16).raw().toBuffer();
      usable.push(path);
    } catch {
      skipped.push(path);
    }
  });
  usable.sort();
  if (usable.length === 0) throw new Error('none of the source photos could be decoded');
  return { usable, skipped };
}

export interface JpegPool {
  dir: string;
  /** Absolute paths of the first `count` pool images. */
  files: string[];
  sources: number;
  skippedSources: string[];
  generated: number;
  generationSeconds: number | null;
}

export function poolFileName(index: number): string {
  return `img-${String(index).padStart(4, '0')}.jpg`;
}

let grainCache: Int8Array | null = null;
function grain(): Int8Array {
  if (!grainCache) {
    const rand = prng(424242);
    const g = new Int8Array(LARGE_WIDTH * LARGE_HEIGHT * 3 + 65536);
    for (let i = 0; i < g.length; i++) g[i] = Math.round((rand() * 2 - 1) * GRAIN);
    grainCache = g;
  }
  return grainCache;
}

/** One pool image: crop offset, flip, brightness/saturation vary per index so every file has its own content hash. */
async function makeLargeJpeg(source: string, index: number, target: string): Promise<void> {
  const rand = prng(index + 1);
  const meta = await sharp(source).metadata();
  // Dimensions after EXIF auto-orientation: extract() below runs on the rotated image.
  const w = meta.autoOrient?.width ?? meta.width ?? 0;
  const h = meta.autoOrient?.height ?? meta.height ?? 0;
  if (w < 8 || h < 8) throw new Error(`${source}: unusable dimensions ${w}x${h}`);
  const frac = 0.8 + rand() * 0.2;
  const cw = Math.max(8, Math.floor(w * frac));
  const ch = Math.max(8, Math.floor(h * frac));
  const left = Math.floor(rand() * (w - cw + 1));
  const top = Math.floor(rand() * (h - ch + 1));
  let pipeline = sharp(source).rotate().extract({ left, top, width: cw, height: ch });
  if (rand() < 0.5) pipeline = pipeline.flop();
  const { data, info } = await pipeline
    .resize(LARGE_WIDTH, LARGE_HEIGHT, { fit: 'cover' })
    .modulate({ brightness: 0.85 + rand() * 0.3, saturation: 0.85 + rand() * 0.3 })
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== LARGE_WIDTH || info.height !== LARGE_HEIGHT) {
    throw new Error(`${source}: unexpected ${info.width}x${info.height}x${info.channels} intermediate`);
  }
  const g = grain();
  const offset = Math.floor(rand() * 65536);
  for (let i = 0; i < data.length; i++) {
    const v = data[i] + g[i + offset];
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  const tmp = `${target}.${process.pid}.tmp`;
  await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .jpeg({ quality: LARGE_QUALITY })
    .toFile(tmp);
  renameSync(tmp, target); // atomic: an interrupted generation never leaves a half file that would be reused
}

/**
 * Ensures the first `count` pool images exist (4000x3000, quality 85). Generation is incremental:
 * an interrupted run keeps what it finished, and a later, larger request only adds the missing ones.
 */
export async function ensureJpegPool(count: number): Promise<JpegPool> {
  const base = benchTmpDir();
  const dir = join(base, `jpeg-${LARGE_WIDTH}x${LARGE_HEIGHT}`);
  const marker = join(base, `jpeg-${LARGE_WIDTH}x${LARGE_HEIGHT}.json`);
  const { usable, skipped } = await photoSources();
  const recipe = { version: LARGE_RECIPE_VERSION, width: LARGE_WIDTH, height: LARGE_HEIGHT, quality: LARGE_QUALITY, grain: GRAIN, sources: usable };
  if (!markerMatches(marker, recipe)) {
    if (existsSync(dir)) log(`the JPEG pool recipe changed: rebuilding ${dir}`);
    removeScratch(dir);
    mkdirSync(dir, { recursive: true });
    writeMarker(marker, recipe);
  }
  const files = Array.from({ length: count }, (_, i) => join(dir, poolFileName(i)));
  const missing = files.map((f, i) => ({ f, i })).filter(({ f }) => !existsSync(f));
  let generationSeconds: number | null = null;
  if (missing.length > 0) {
    log(`generating ${missing.length} JPEGs of ${LARGE_WIDTH}x${LARGE_HEIGHT} in ${dir} (one-time; reused afterwards)`);
    const started = performance.now();
    let done = 0;
    let lastLog = started;
    await mapPool(missing, 2, async ({ f, i }) => {
      const source = usable[i % usable.length];
      try {
        await makeLargeJpeg(source, i, f);
      } catch (err) {
        throw new Error(`generating ${f} from ${source} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
      done++;
      const now = performance.now();
      if (now - lastLog > 30_000 || done === missing.length) {
        lastLog = now;
        const rate = done / ((now - started) / 1000);
        log(`  ${done}/${missing.length} JPEGs (${rate.toFixed(2)}/s, ~${Math.round((missing.length - done) / rate)} s left)`);
      }
    });
    generationSeconds = (performance.now() - started) / 1000;
  }
  return { dir, files, sources: usable.length, skippedSources: skipped, generated: missing.length, generationSeconds };
}

/**
 * A folder holding hard links to the first `count` pool images, in sub-folders of 100, so a
 * reduced run indexes exactly `count` files. Hard links share the pool's bytes and mtimes.
 */
export function linkedRoot(pool: JpegPool, count: number): string {
  const base = join(benchTmpDir(), 'index-roots');
  mkdirSync(base, { recursive: true });
  const root = join(base, `root-${count}`);
  const marker = join(base, `root-${count}.json`);
  const inodes = pool.files.slice(0, count).map((f) => statSync(f).ino);
  const recipe = { pool: pool.dir, count, inodes };
  if (markerMatches(marker, recipe) && existsSync(root)) return root;
  removeScratch(root);
  for (let i = 0; i < count; i++) {
    const sub = join(root, `batch-${String(Math.floor(i / 100)).padStart(2, '0')}`);
    mkdirSync(sub, { recursive: true });
    linkSync(pool.files[i], join(sub, poolFileName(i)));
  }
  writeMarker(marker, recipe);
  return root;
}
