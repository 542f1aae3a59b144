import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { FileError, errorMessage } from '../util/errors';
import { hashBuffer, hashFile } from '../util/hash';
import { DECODABLE_FORMATS, formatFromName, sniffImage, SNIFF_BYTES, type ImageFormat } from '../scan/sniff';
import { readExif, type ExifFacts } from './exif';

// Loupe runs several images at once and never re-reads a file through sharp's cache.
sharp.cache(false);

export interface DecodeLimits {
  /** Refuse images with more pixels than this (decompression bombs). */
  maxPixels: number;
  /** Long side of the working image every analyzer reads. */
  workingSize: number;
  /** Long side of the WebP thumbnail. */
  thumbSize: number;
  /** Per-image time limit for decoding. */
  timeoutSeconds: number;
  /** Files larger than this are hashed and decoded from disk instead of memory. */
  inMemoryBytes: number;
}

/** Long side of thumbnails unless the user chose another (LOUPE_THUMBNAIL_SIZE, the editor's setting). */
export const DEFAULT_THUMB_SIZE = 256;

/** LOUPE_THUMBNAIL_SIZE, 64..1024, default 256. */
function thumbnailSizeFromEnv(): number {
  const n = Number.parseInt(process.env.LOUPE_THUMBNAIL_SIZE ?? '', 10);
  return Number.isFinite(n) ? Math.min(1024, Math.max(64, n)) : DEFAULT_THUMB_SIZE;
}

export const DEFAULT_LIMITS: DecodeLimits = {
  maxPixels: 200_000_000,
  workingSize: 1440,
  thumbSize: thumbnailSizeFromEnv(),
  timeoutSeconds: 60,
  inMemoryBytes: 128 * 1024 * 1024,
};


/** The one decoded copy of an image that every analyzer reads. */
export interface DecodedImage {
  relPath: string;
  format: ImageFormat;
  contentHash: string;
  size: number;
  mtimeMs: number;
  /** Dimensions of the full image after EXIF orientation is applied. */
  width: number;
  height: number;
  orientation: number | null;
  exif: ExifFacts;
  /** Working image: sRGB, 3 channels, 8 bits, EXIF-rotated, alpha flattened, long side <= workingSize. */
  rgb: Buffer;
  rgbWidth: number;
  rgbHeight: number;
  /**
   * What was decoded: the file's bytes, or its path when it was too large to read into memory.
   * For analyzers that need more detail than the working image (OCR line crops); never modified.
   */
  source?: Buffer | string;
}

/** Neutral grey: transparent areas should not look like black or white content to the models. */
const FLATTEN_BACKGROUND = { r: 128, g: 128, b: 128 };

const FORMAT_NAMES: Record<ImageFormat, string> = {
  jpeg: 'JPEG', png: 'PNG', gif: 'GIF', webp: 'WebP', tiff: 'TIFF', avif: 'AVIF', heic: 'HEIC', svg: 'SVG',
  bmp: 'BMP', pnm: 'PNM/PPM', ico: 'ICO', psd: 'PSD', jxl: 'JPEG XL',
};

/** Whether a file visibly ends before its format's end marker: a cut-off download or copy. */
export function looksTruncated(format: ImageFormat, data: Uint8Array): boolean {
  let end = data.length;
  // Some writers pad files with zeros or line breaks after the end marker.
  while (end > 0 && (data[end - 1] === 0 || data[end - 1] === 0x0a || data[end - 1] === 0x0d)) end--;
  switch (format) {
    case 'jpeg':
      return !(end >= 2 && data[end - 2] === 0xff && data[end - 1] === 0xd9);
    case 'png':
      return !(end >= 12 && Buffer.from(data.subarray(end - 8, end - 4)).toString('latin1') === 'IEND');
    case 'gif':
      return !(end >= 1 && data[end - 1] === 0x3b);
    case 'webp': {
      if (data.length < 12) return true;
      const riffSize = data[4] | (data[5] << 8) | (data[6] << 16) | (data[7] << 24);
      return data.length < riffSize + 8;
    }
    default:
      return false;
  }
}

function describeSharpError(format: ImageFormat, err: unknown, input: Buffer | string): FileError {
  const msg = errorMessage(err).split('\n')[0];
  if (typeof input !== 'string' && looksTruncated(format, input)) {
    return new FileError('corrupt', `${FORMAT_NAMES[format]} is damaged or truncated: the file ends early (${msg})`);
  }
  if (/timeout/i.test(msg)) return new FileError('timeout', `decoding took too long and was stopped (${msg})`);
  if (format === 'heic' && /(compression|codec|unsupported|bad seek|no decoder|not supported)/i.test(msg)) {
    return new FileError('unsupported_format', `HEIC (HEVC) decoding is not available in this libvips build: ${msg}`);
  }
  if (/premature end|truncated|unexpected end|corrupt|invalid|bad |not a |unsupported|read error|decode error/i.test(msg)) {
    return new FileError('corrupt', `${FORMAT_NAMES[format]} is damaged or truncated: ${msg}`);
  }
  return new FileError('decode_failed', `could not decode ${FORMAT_NAMES[format]}: ${msg}`);
}

/** Reads the file once (memory or disk), checks what it really is, and decodes the working image. */
export async function decodeImage(absPath: string, relPath: string, limits: DecodeLimits = DEFAULT_LIMITS): Promise<DecodedImage> {
  let stat;
  try {
    stat = await fsp.stat(absPath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError('vanished', 'the file was deleted or moved while indexing');
    throw new FileError('unreadable', `cannot read the file (${code ?? errorMessage(err)})`);
  }
  if (!stat.isFile()) throw new FileError('unreadable', 'not a regular file');
  if (stat.size === 0) throw new FileError('corrupt', 'the file is empty (0 bytes)');

  let input: Buffer | string;
  let contentHash: string;
  let head: Uint8Array;
  try {
    if (stat.size <= limits.inMemoryBytes) {
      input = await fsp.readFile(absPath);
      contentHash = hashBuffer(input);
      head = input.subarray(0, SNIFF_BYTES);
    } else {
      input = absPath;
      contentHash = await hashFile(absPath);
      const handle = await fsp.open(absPath, 'r');
      try {
        const buf = Buffer.alloc(SNIFF_BYTES);
        const { bytesRead } = await handle.read(buf, 0, SNIFF_BYTES, 0);
        head = buf.subarray(0, bytesRead);
      } finally {
        await handle.close();
      }
    }
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError('vanished', 'the file was deleted or moved while indexing');
    throw new FileError('unreadable', `cannot read the file (${code ?? errorMessage(err)})`);
  }

  const format = sniffImage(head);
  const claimed = formatFromName(relPath);
  if (!format) {
    const what = claimed ? `named like ${FORMAT_NAMES[claimed]} but its content is not an image` : 'not an image';
    throw new FileError('not_image', what);
  }
  if (!DECODABLE_FORMATS.has(format)) {
    throw new FileError('unsupported_format', `${FORMAT_NAMES[format]} images are not supported; convert it to PNG or WebP`);
  }

  const baseOptions: sharp.SharpOptions = {
    limitInputPixels: false, // checked below with a clearer message
    failOn: 'truncated',
    animated: false,
    pages: 1,
    unlimited: false,
  };
  let meta: sharp.Metadata;
  try {
    meta = await sharp(input, baseOptions).metadata();
  } catch (err) {
    throw describeSharpError(format, err, input);
  }
  let srcW = meta.width ?? 0;
  let srcH = meta.height ?? 0;
  if (srcW <= 0 || srcH <= 0) throw new FileError('corrupt', `${FORMAT_NAMES[format]} has no valid dimensions`);
  const pixels = srcW * srcH;
  if (pixels > limits.maxPixels) {
    throw new FileError(
      'too_large',
      `image is ${srcW}x${srcH} (${Math.round(pixels / 1e6)} MP), above the ${Math.round(limits.maxPixels / 1e6)} MP limit; refused to avoid a decompression bomb`,
    );
  }
  const orientation = meta.orientation ?? null;
  const options: sharp.SharpOptions = { ...baseOptions };
  if (format === 'svg') {
    // Rasterise vector art near the working size instead of its nominal 72 dpi size.
    const scale = Math.min(limits.workingSize / Math.max(srcW, srcH), 32);
    options.density = Math.max(1, Math.min(72 * scale, 72 * 32));
  }

  let rgb: Buffer;
  let info: sharp.OutputInfo;
  try {
    const result = await sharp(input, options)
      .timeout({ seconds: limits.timeoutSeconds })
      .rotate()
      .resize({ width: limits.workingSize, height: limits.workingSize, fit: 'inside', withoutEnlargement: format !== 'svg' })
      .flatten({ background: FLATTEN_BACKGROUND })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    rgb = result.data;
    info = result.info;
  } catch (err) {
    throw describeSharpError(format, err, input);
  }
  if (info.channels !== 3) throw new FileError('decode_failed', `unexpected ${info.channels}-channel decode`);
  if (orientation !== null && orientation >= 5) [srcW, srcH] = [srcH, srcW];

  const exif = await readExif(input);
  return {
    relPath,
    format,
    contentHash,
    size: stat.size,
    mtimeMs: stat.mtimeMs,
    width: srcW,
    height: srcH,
    orientation,
    exif,
    rgb,
    rgbWidth: info.width,
    rgbHeight: info.height,
    source: input,
  };
}

/** Thumbnails of other sizes get their own names, so a size change never serves a stale file. */
export function thumbnailName(contentHash: string, size = DEFAULT_THUMB_SIZE): string {
  return `${contentHash.slice(0, 2)}/${contentHash}${size === DEFAULT_THUMB_SIZE ? '' : `-${size}`}.webp`;
}

/** Writes the WebP thumbnail from the working image (no second decode). Atomic: a crash never leaves half a file. */
export async function writeThumbnail(image: DecodedImage, thumbsRoot: string, size: number): Promise<string> {
  const name = thumbnailName(image.contentHash, size);
  const target = join(thumbsRoot, name);
  try {
    await fsp.access(target);
    return name; // same content already has a thumbnail
  } catch {
    // not there yet
  }
  await fsp.mkdir(dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await sharp(image.rgb, { raw: { width: image.rgbWidth, height: image.rgbHeight, channels: 3 } })
    .resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true })
    .webp({ quality: 78, effort: 2 })
    .toFile(tmp);
  await fsp.rename(tmp, target);
  return name;
}
