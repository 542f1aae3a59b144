import exifr from 'exifr';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { DEFAULT_LIMITS } from '../decode/decode';
import { DEFAULT_QUALITY, TransformError, type OutputFormat, type TransformOptions } from './options';

export interface EncodedImage {
  data: Buffer;
  width: number;
  height: number;
  format: OutputFormat;
  /** Frames in the output (1 unless an animation was kept). */
  frames: number;
  /** Things the user should know: upscaling cannot invent detail, transparency flattened, ... */
  warnings: string[];
}

/** What a source becomes when no format is asked for: web formats stay, the rest become JPEG (PNG with transparency). */
function defaultFormat(meta: Metadata): OutputFormat {
  switch (meta.format) {
    case 'jpeg':
    case 'png':
    case 'webp':
    case 'gif':
      return meta.format;
    case 'heif':
      return meta.compression === 'av1' ? 'avif' : meta.hasAlpha ? 'png' : 'jpeg';
    default:
      return meta.hasAlpha ? 'png' : 'jpeg';
  }
}

/** EXIF string tags kept with `metadata: 'keep'` when GPS is dropped (libvips writes string tags only). */
const KEPT_TAGS: Record<'IFD0' | 'IFD2', string[]> = {
  IFD0: ['Make', 'Model', 'Software', 'DateTime', 'Artist', 'Copyright', 'ImageDescription'],
  IFD2: ['DateTimeOriginal', 'DateTimeDigitized', 'LensMake', 'LensModel'],
};

// Shared, not a literal per call: exifr keeps every options object it is given (see decode/exif.ts).
const EXIF_WITHOUT_GPS_OPTIONS = Object.freeze({ tiff: true, exif: true, gps: false, interop: false, ifd1: false, xmp: false, icc: false, translateValues: false, reviveValues: false, mergeOutput: false });

async function exifWithoutGps(input: string | Buffer): Promise<Record<string, Record<string, string>>> {
  const parsed = (await exifr.parse(input, EXIF_WITHOUT_GPS_OPTIONS).catch(() => null)) as
    | { ifd0?: Record<string, unknown>; exif?: Record<string, unknown> }
    | null;
  const out: Record<string, Record<string, string>> = {};
  for (const [ifd, source] of [['IFD0', parsed?.ifd0], ['IFD2', parsed?.exif]] as const) {
    const kept: Record<string, string> = {};
    for (const tag of KEPT_TAGS[ifd]) {
      const v = source?.[tag];
      if (typeof v === 'string' && v.trim() !== '') kept[tag] = v.trim();
    }
    if (Object.keys(kept).length) out[ifd] = kept;
  }
  return out;
}

/** The displayed size of the source (EXIF orientation applied; one frame of an animation). */
function orientedSize(meta: Metadata): { width: number; height: number } {
  const w = meta.width ?? 0;
  const h = meta.pageHeight ?? meta.height ?? 0;
  return (meta.orientation ?? 1) >= 5 ? { width: h, height: w } : { width: w, height: h };
}

function sourceLabel(input: string | Buffer): string {
  return typeof input === 'string' ? input : 'the image';
}

/**
 * Runs one optimisation on an image (a path or its bytes) and returns the encoded result. Nothing
 * is written. Throws TransformError for inputs it refuses (animation to a still format, SVG).
 */
export async function transformImage(input: string | Buffer, options: TransformOptions): Promise<EncodedImage> {
  const warnings: string[] = [];
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: DEFAULT_LIMITS.maxPixels }).metadata();
  } catch (err) {
    throw new TransformError(`cannot read ${sourceLabel(input)}: ${err instanceof Error ? err.message : String(err)}`, 'unreadable');
  }
  if (meta.format === 'svg') throw new TransformError('SVG is a vector format: optimise it with an SVG optimiser, not by rasterising', 'unsupported');
  const format = options.format ?? defaultFormat(meta);
  const frames = meta.pages ?? 1;
  const isAnimation = frames > 1 && (meta.format === 'gif' || meta.format === 'webp');
  let keepAnimation = false;
  if (isAnimation) {
    if (options.animation === 'first-frame') warnings.push(`animated (${frames} frames): only the first frame was kept`);
    else if (format === 'webp' || format === 'gif') keepAnimation = true;
    else {
      throw new TransformError(
        `the image is animated (${frames} frames) and ${format.toUpperCase()} cannot hold an animation: convert to WebP or GIF to keep it, or choose "first frame only"`,
        'animated',
      );
    }
  }

  let img: Sharp = sharp(input, { animated: keepAnimation, limitInputPixels: DEFAULT_LIMITS.maxPixels });
  // Orientation is applied to the pixels, so stripping EXIF never leaves a sideways photo.
  if (!keepAnimation) img = img.autoOrient();

  const wasCmyk = meta.space === 'cmyk';
  const wide = meta.depth === 'ushort' || meta.depth === 'float' || meta.depth === 'uint';
  if (wasCmyk) warnings.push('CMYK source converted to sRGB');
  if (wide) warnings.push(`${meta.depth === 'ushort' ? '16' : '32'}-bit source reduced to 8 bits per channel`);

  const e = options.enhance ?? {};
  if (e.autoLevel) img = img.normalise({ lower: 1, upper: 99 });

  const src = orientedSize(meta);
  if (options.maxWidth || options.maxHeight) {
    const scale = Math.min(options.maxWidth ? options.maxWidth / src.width : Infinity, options.maxHeight ? options.maxHeight / src.height : Infinity);
    if (scale > 1 && options.upscale) {
      warnings.push(`upscaled ${scale.toFixed(2)}x with Lanczos: the image gets bigger, but upscaling cannot invent detail that was not captured`);
    }
    img = img.resize({
      width: options.maxWidth,
      height: options.maxHeight,
      fit: 'inside',
      withoutEnlargement: !options.upscale,
      kernel: 'lanczos3',
    });
  }
  if (e.denoise && e.denoise > 0) img = img.median(e.denoise > 0.5 ? 5 : 3);
  if (e.sharpen && e.sharpen > 0) img = img.sharpen({ sigma: 0.5 + e.sharpen, m1: 0.5, m2: 1 + 2 * e.sharpen });
  if (e.saturation !== undefined && e.saturation !== 1) img = img.modulate({ saturation: e.saturation });

  if (format === 'jpeg' && meta.hasAlpha) {
    const background = options.background ?? '#ffffff';
    img = img.flatten({ background });
    warnings.push(`JPEG has no transparency: transparent areas were filled with ${background}`);
  }
  // 8-bit sRGB out: what browsers expect (CMYK JPEGs and 16-bit PNGs render wrong or weigh double).
  img = img.toColourspace('srgb');

  if (options.metadata === 'keep') {
    img = img.keepIccProfile();
    if (options.keepGps) img = img.keepExif().keepXmp();
    else if (meta.exif) {
      img = img.withExif(await exifWithoutGps(input));
      if (meta.xmp) warnings.push('XMP metadata dropped: it can carry the location (set keepGps to keep it)');
    }
  }

  const quality = options.quality ?? DEFAULT_QUALITY[format];
  switch (format) {
    case 'webp':
      img = img.webp({ quality, effort: 4 });
      break;
    case 'avif':
      img = img.avif({ quality, effort: 2 }); // effort 4 (the default) took several times as long for about the same size
      break;
    case 'jpeg':
      img = img.jpeg({ quality, mozjpeg: true });
      break;
    case 'png':
      img = options.palette === false ? img.png({ compressionLevel: 9, adaptiveFiltering: true }) : img.png({ palette: true, quality, effort: 4, compressionLevel: 9 });
      break;
    case 'gif':
      img = img.gif({ effort: 7 });
      break;
  }
  let result: { data: Buffer; info: sharp.OutputInfo };
  try {
    result = await img.toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new TransformError(`cannot convert ${sourceLabel(input)}: ${err instanceof Error ? err.message : String(err)}`, 'failed');
  }
  const outFrames = keepAnimation ? frames : 1;
  const height = keepAnimation ? (result.info.pageHeight ?? Math.round(result.info.height / outFrames)) : result.info.height;
  return { data: result.data, width: result.info.width, height, format, frames: outFrames, warnings };
}
