import type { AnalyzerRows } from '../../catalog/types';
import type { DecodedImage } from '../../decode/decode';
import type { Analyzer } from '../../pipeline/analyzer';
import { postingsOf } from '../../ocr/tokenize';
import sharp from 'sharp';
import type { OcrEngine, OcrResult } from './engine';
import type { Raster } from './raster';

export const OCR_ANALYZER = 'ocr';
export const OCR_ANALYZER_VERSION = 1;

type Row = Record<string, string | number | boolean | null>;

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

function intList(v: readonly number[]): string {
  return `[${v.join(',')}]`;
}

/** Long side of the detailed copy line crops are taken from (a 12 MP photo stays at full size). */
export const DETAIL_MAX_SIDE = 4096;

/**
 * The image again at up to DETAIL_MAX_SIDE, decoded like the working image (EXIF rotation,
 * flattened, sRGB), or null when the working image is already (nearly) full size or the source is
 * not at hand. Only asked for once text has been found.
 */
export async function decodeDetail(image: DecodedImage, maxSide = DETAIL_MAX_SIDE): Promise<Raster | null> {
  if (!image.source || image.format === 'svg') return null;
  const target = Math.min(maxSide, Math.max(image.width, image.height));
  if (target < Math.max(image.rgbWidth, image.rgbHeight) * 1.25) return null;
  try {
    const { data, info } = await sharp(image.source, { limitInputPixels: false, failOn: 'none', animated: false, pages: 1 })
      .rotate()
      .resize({ width: target, height: target, fit: 'inside', withoutEnlargement: true })
      .flatten({ background: { r: 128, g: 128, b: 128 } })
      .toColourspace('srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) return null;
    // Same aspect as the working image, or the boxes would not line up.
    if (Math.abs(info.width / info.height - image.rgbWidth / image.rgbHeight) > 0.02) return null;
    return { data, width: info.width, height: info.height };
  } catch {
    return null; // the working image is still there: read from it
  }
}

export interface RecognizeOptions {
  signal?: AbortSignal;
  /** Crop lines from a higher-resolution decode when the working image was shrunk (default true). */
  detail?: boolean;
}

/** Reads the decode-once working image; boxes are scaled to the full image (after EXIF rotation). */
export async function recognizeDecoded(engine: OcrEngine, image: DecodedImage, options: RecognizeOptions = {}): Promise<OcrResult> {
  const detail = options.detail === false ? undefined : () => decodeDetail(image);
  const result = await engine.read({ data: image.rgb, width: image.rgbWidth, height: image.rgbHeight }, options.signal, detail);
  const sx = image.width / image.rgbWidth, sy = image.height / image.rgbHeight;
  return {
    ...result,
    lines: result.lines.map((l) => ({ ...l, quad: l.quad.map(([x, y]) => [round1(x * sx), round1(y * sy)]) as typeof l.quad })),
  };
}

/** Catalog rows of one image's OCR: the text, its lines with boxes, and the inverted-index postings. */
export function ocrRows(result: OcrResult): AnalyzerRows {
  const lines = result.lines.map((l) => l.text);
  const { length, terms } = postingsOf(lines);
  const ocr_text: Row[] = [{
    text: result.text,
    language: result.language,
    rotation: result.rotation,
    line_count: result.lines.length,
    box_count: result.boxes,
    truncated: result.truncated,
    detected: result.detected,
    term_count: length,
  }];
  const ocr_lines: Row[] = result.lines.map((l, i) => ({
    line_index: i,
    text: l.text,
    confidence: Math.round(l.confidence * 1e4) / 1e4,
    box: `[${l.quad.flat().join(',')}]`,
  }));
  const ocr_postings: Row[] = [...terms].map(([term, p]) => ({
    term,
    tf: p.positions.length,
    positions: intList(p.positions),
    lines: intList(p.lines),
  }));
  return { ocr_text, ocr_lines, ocr_postings };
}

/** The `ocr` analyzer: text, lines with boxes and postings for every image (a cheap gate skips photos without text). */
export function createOcrAnalyzer(engine: OcrEngine): Analyzer {
  return {
    name: OCR_ANALYZER,
    version: OCR_ANALYZER_VERSION,
    owns: [{ table: 'ocr_text' }, { table: 'ocr_lines' }, { table: 'ocr_postings' }],
    async analyze(image: DecodedImage): Promise<AnalyzerRows> {
      return ocrRows(await recognizeDecoded(engine, image));
    },
  };
}
