import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { transformImage } from './encode';
import type { OutputFormat, TransformOptions } from './options';

export interface TransformPreview {
  width: number;
  height: number;
  /** Size of the optimised file, exactly as `apply` would write it. */
  bytes: number;
  originalBytes: number;
  format: OutputFormat;
  frames: number;
  /** Absolute path of a WebP (long side <= 1024 px) showing the result; a temporary file. */
  preview: string;
  warnings: string[];
}

const PREVIEW_MAX = 1024;
/** Previews kept in the folder; older ones are removed as new ones are made. */
const KEEP_PREVIEWS = 40;

async function prune(dir: string): Promise<void> {
  const names = (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('preview-'));
  if (names.length <= KEEP_PREVIEWS) return;
  const stats = await Promise.all(names.map(async (n) => ({ n, t: (await fsp.stat(join(dir, n)).catch(() => null))?.mtimeMs ?? 0 })));
  stats.sort((a, b) => a.t - b.t);
  for (const { n } of stats.slice(0, stats.length - KEEP_PREVIEWS)) await fsp.rm(join(dir, n), { force: true });
}

/**
 * Runs the optimisation in memory and reports what it would produce; writes only a small preview
 * image into `previewDir` (never next to the original). The preview is decoded from the encoded
 * result, so compression artefacts and enhancements show as they will be.
 */
export async function previewTransform(absPath: string, options: TransformOptions, previewDir: string): Promise<TransformPreview> {
  const stat = await fsp.stat(absPath);
  const encoded = await transformImage(absPath, options);
  await fsp.mkdir(previewDir, { recursive: true });
  const key = createHash('sha256').update(JSON.stringify([absPath, stat.size, stat.mtimeMs, options])).digest('hex').slice(0, 24);
  const preview = join(previewDir, `preview-${key}.webp`);
  const tmp = `${preview}.${process.pid}.tmp`;
  await sharp(encoded.data)
    .resize({ width: PREVIEW_MAX, height: PREVIEW_MAX, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 90 })
    .toFile(tmp);
  await fsp.rename(tmp, preview);
  await prune(previewDir);
  return {
    width: encoded.width,
    height: encoded.height,
    bytes: encoded.data.length,
    originalBytes: stat.size,
    format: encoded.format,
    frames: encoded.frames,
    preview,
    warnings: encoded.warnings,
  };
}
