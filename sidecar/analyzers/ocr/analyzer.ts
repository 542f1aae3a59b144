import type { AnalyzerRows } from '../../catalog/types';
import type { DecodedImage } from '../../decode/decode';
import type { Analyzer } from '../../pipeline/analyzer';
import { postingsOf } from '../../ocr/tokenize';
import type { OcrEngine, OcrResult } from './engine';

export const OCR_ANALYZER = 'ocr';
export const OCR_ANALYZER_VERSION = 1;

type Row = Record<string, string | number | boolean | null>;

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

function intList(v: readonly number[]): string {
  return `[${v.join(',')}]`;
}

/** Reads the decode-once working image; boxes are scaled to the full image (after EXIF rotation). */
export async function recognizeDecoded(engine: OcrEngine, image: DecodedImage, signal?: AbortSignal): Promise<OcrResult> {
  const result = await engine.read({ data: image.rgb, width: image.rgbWidth, height: image.rgbHeight }, signal);
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
    async analyze(image: DecodedImage): Promise<AnalyzerRows> {
      return ocrRows(await recognizeDecoded(engine, image));
    },
  };
}
