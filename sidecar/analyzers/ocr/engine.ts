import { DEFAULT_DB_OPTIONS, rectCorners, minAreaRect, type DbBox, type Point, type Quad } from './db-postprocess';
import type { TextDetector } from './detector';
import { cropQuad, rotateRaster, unrotatePoint, type Raster } from './raster';
import type { Recognition, TextRecognizer } from './recognizer';
import { looksSynthetic } from './synthetic';

export type Rotation = 0 | 90 | 180 | 270;

export interface OcrOptions {
  /** Long side of the detection input (PaddleOCR det_limit_side_len). */
  detLimit: number;
  /** Detection input long side used instead when the text found at detLimit is small. */
  smallTextLimit: number;
  /** Median line height (detection input pixels) under which text counts as small. */
  smallTextPx: number;
  /** Long side of the cheap first pass that decides whether an image has text at all. */
  gateLimit: number;
  /** Lines below this recognition confidence are dropped (PaddleOCR drop_score). */
  dropScore: number;
  /** Lines recognised per image at most (the largest boxes); the rest are counted, not read. */
  maxLines: number;
  /** Lines read to decide the page orientation. */
  orientationSample: number;
  /** Mean sample confidence above which the first orientation guess is kept without trying others. */
  orientationConfident: number;
}

export const DEFAULT_OCR_OPTIONS: OcrOptions = {
  detLimit: 960,
  smallTextLimit: 1440,
  smallTextPx: 14,
  gateLimit: 480,
  dropScore: 0.5,
  maxLines: 400,
  orientationSample: 6,
  orientationConfident: 0.8,
};

const WHOLE_LINE_MAX_HEIGHT = 96;
const ORIENTATION_MARGIN = 0.05;
const ORIENTATION_PREFIX = 10;
const WHOLE_LINE_MIN_CONFIDENCE = 0.8;

export interface OcrLine {
  text: string;
  confidence: number;
  /** Corners in the analysed raster's pixels, in reading order (top-left of the text first). */
  quad: Quad;
}

export interface OcrResult {
  /** All kept lines in reading order, rows separated by newlines. */
  text: string;
  lines: OcrLine[];
  /** Clockwise rotation that makes the page upright. */
  rotation: Rotation;
  /** False when no text box was found (by the cheap first pass or the full one): recognition never ran. */
  detected: boolean;
  /** Text boxes found (before the maxLines cap). */
  boxes: number;
  /** True when lines were left unread because of maxLines or the detector's candidate cap. */
  truncated: boolean;
  language: string | null;
}

interface Candidate {
  /** Corners in the upright frame, tl tr br bl. */
  upright: Quad;
  /** The same corners in the source raster, used for cropping and stored. */
  source: Quad;
}

function rotatePoint(p: Point, degrees: Rotation, w: number, h: number): Point {
  const [x, y] = p;
  if (degrees === 90) return [h - y, x];
  if (degrees === 180) return [w - x, h - y];
  if (degrees === 270) return [y, w - x];
  return [x, y];
}

/** Corner order for a box read with the page turned by `rotation`; tall boxes are read turned 90 degrees like PaddleOCR does. */
function orient(quad: Quad, rotation: Rotation, w: number, h: number): Candidate {
  const turned = quad.map((p) => rotatePoint(p, rotation, w, h));
  let upright = rectCorners(minAreaRect(turned));
  const bw = Math.hypot(upright[1][0] - upright[0][0], upright[1][1] - upright[0][1]);
  const bh = Math.hypot(upright[3][0] - upright[0][0], upright[3][1] - upright[0][1]);
  // A tall line within an upright page is vertical text: read it turned counter-clockwise (np.rot90).
  if (bh / Math.max(bw, 1e-6) >= 1.5) upright = [upright[1], upright[2], upright[3], upright[0]];
  const source = upright.map((p) => unrotatePoint(p, rotation, w, h)) as Quad;
  return { upright, source };
}

/** Enough of a line to judge a reading: its first ORIENTATION_PREFIX heights of width. */
function lineStart(c: Candidate): Candidate {
  const [p0, p1, p2, p3] = c.source;
  const w = Math.hypot(p1[0] - p0[0], p1[1] - p0[1]);
  const h = Math.hypot(p3[0] - p0[0], p3[1] - p0[1]);
  const f = Math.min(1, (ORIENTATION_PREFIX * h) / Math.max(w, 1e-6));
  if (f >= 1) return c;
  const along = (a: Point, b: Point): Point => [a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f];
  return { upright: c.upright, source: [p0, along(p0, p1), along(p3, p2), p3] };
}

function quadArea(q: Quad): number {
  return Math.hypot(q[1][0] - q[0][0], q[1][1] - q[0][1]) * Math.hypot(q[3][0] - q[0][0], q[3][1] - q[0][1]);
}

/** Confidence of a set of readings, weighted by length (an empty reading counts as a short failure). */
function meanConfidence(readings: Recognition[]): number {
  let sum = 0, weight = 0;
  for (const r of readings) {
    const n = Math.max(1, r.text.trim().length);
    sum += r.confidence * n;
    weight += n;
  }
  return weight === 0 ? 0 : sum / weight;
}

/** Orientations to try, most likely first: mostly tall boxes mean the page is turned a quarter. */
function orientationOrder(boxes: DbBox[]): Rotation[] {
  let tall = 0, wide = 0;
  for (const { quad } of boxes) {
    const xs = quad.map((p) => p[0]), ys = quad.map((p) => p[1]);
    const bw = Math.max(...xs) - Math.min(...xs), bh = Math.max(...ys) - Math.min(...ys);
    if (bh >= 1.5 * bw) tall += bw * bh;
    else if (bw >= 1.5 * bh) wide += bw * bh;
  }
  if (tall > wide) return [90, 270, 0, 180];
  // Mostly wide lines: the page is upright or upside down (a quarter turn would make them tall).
  if (wide > 0) return [0, 180];
  return [0, 180, 90, 270];
}

/**
 * Rows in reading order: lines sorted top to bottom, a line joins the row whose vertical extent
 * it overlaps by at least half its height, and each row reads left to right.
 */
export function readingOrder(quads: Quad[]): number[][] {
  // Slightly skewed pages: measure rows along the text's own direction (median line angle).
  const angles = quads.map((q) => Math.atan2(q[1][1] - q[0][1], q[1][0] - q[0][0])).sort((a, b) => a - b);
  const angle = angles.length > 0 ? angles[angles.length >> 1] : 0;
  const cos = Math.cos(-angle), sin = Math.sin(-angle);
  const spans = quads.map((q, i) => {
    const pts = q.map(([x, y]) => [x * cos - y * sin, x * sin + y * cos]);
    const ys = pts.map((p) => p[1]), xs = pts.map((p) => p[0]);
    return { i, top: Math.min(...ys), bottom: Math.max(...ys), left: Math.min(...xs) };
  });
  spans.sort((a, b) => (a.top + a.bottom) / 2 - (b.top + b.bottom) / 2);
  const rows: Array<{ top: number; bottom: number; items: typeof spans }> = [];
  for (const s of spans) {
    const row = rows[rows.length - 1];
    const h = s.bottom - s.top;
    if (row) {
      const overlap = Math.min(row.bottom, s.bottom) - Math.max(row.top, s.top);
      if (overlap >= 0.5 * Math.min(h, row.bottom - row.top)) {
        row.items.push(s);
        row.top = Math.min(row.top, s.top);
        row.bottom = Math.max(row.bottom, s.bottom);
        continue;
      }
    }
    rows.push({ top: s.top, bottom: s.bottom, items: [s] });
  }
  return rows.map((r) => r.items.sort((a, b) => a.left - b.left).map((s) => s.i));
}

/** A coarse language hint from the scripts of the recognised characters. */
export function languageHint(text: string): string | null {
  const han = (text.match(/\p{Script=Han}/gu) ?? []).length;
  const latin = (text.match(/\p{Script=Latin}/gu) ?? []).length;
  if (han + latin === 0) return null;
  if (han > 0 && latin > 0 && Math.min(han, latin) / (han + latin) >= 0.2) return 'zh+en';
  return han > latin ? 'zh' : 'en';
}

/** Detection, orientation, recognition and reading order for one image. */
export class OcrEngine {
  readonly options: OcrOptions;

  constructor(
    readonly detector: TextDetector,
    readonly recognizer: TextRecognizer,
    options: Partial<OcrOptions> = {},
  ) {
    this.options = { ...DEFAULT_OCR_OPTIONS, ...options };
  }

  /** Crops are taken from `raster`, whose size is `scale` times the frame the candidates are in. */
  private async readCandidates(raster: Raster, cands: Candidate[], scale = 1): Promise<Recognition[]> {
    const scaled = (q: Quad) => (scale === 1 ? q : (q.map(([x, y]) => [x * scale, y * scale]) as Quad));
    return this.recognizer.recognize(cands.map((c) => cropQuad(raster, scaled(c.source))));
  }

  /**
   * Reads the text of `raster`. `detail`, when given, supplies the same image at a higher
   * resolution (same aspect): lines are then found on `raster` but cropped from the detailed copy,
   * which keeps small text legible (and the spaces between words).
   */
  async read(raster: Raster, signal?: AbortSignal, detail?: () => Promise<Raster | null>): Promise<OcrResult> {
    const result = await this.readPage(raster, signal, detail);
    // A small line-shaped image is usually a cropped word, where the detector (which needs margins
    // around text) finds nothing or pieces: read it whole too and keep the more confident reading.
    if (raster.height > WHOLE_LINE_MAX_HEIGHT || raster.width < raster.height * 0.8 || raster.width > 1024) return result;
    const whole = await this.readWhole(raster, result);
    const conf = (r: OcrResult) => meanConfidence(r.lines.map((l) => ({ text: l.text, confidence: l.confidence })));
    return whole.lines.length > 0 && (result.lines.length === 0 || conf(whole) > conf(result)) ? whole : result;
  }

  private async readPage(raster: Raster, signal?: AbortSignal, detail?: () => Promise<Raster | null>): Promise<OcrResult> {
    const o = this.options;
    const empty: OcrResult = { text: '', lines: [], rotation: 0, detected: false, boxes: 0, truncated: false, language: null };
    if (raster.width < 2 || raster.height < 2) return empty;
    // A cheap low-resolution pass first: photos without text stop here. Small images skip it (the
    // full pass is as cheap), and so do screenshots and other drawn images: their UI-sized text
    // (9-11 px on a 2560 px screen) vanishes at the gate's size, and they rarely lack text.
    if (Math.max(raster.width, raster.height) > o.gateLimit * 1.2 && !looksSynthetic(raster)) {
      // Any pixel over the text threshold lets the image through: small text is faint at this size.
      const gate = await this.detector.detect(raster, o.gateLimit);
      if (gate.regions === 0) return empty;
    }
    signal?.throwIfAborted();
    let det = await this.detector.detect(raster, o.detLimit);
    if (det.boxes.length === 0) return empty;
    // Small text on a large image: detect again at a higher resolution (boxes at 960 px clip it).
    let detLimit = o.detLimit;
    const longSide = Math.max(raster.width, raster.height);
    if (longSide > o.detLimit && o.smallTextLimit > o.detLimit) {
      const heights = det.boxes.map(({ quad }) => Math.min(
        Math.hypot(quad[1][0] - quad[0][0], quad[1][1] - quad[0][1]),
        Math.hypot(quad[3][0] - quad[0][0], quad[3][1] - quad[0][1]),
      )).sort((a, b) => a - b);
      const median = heights[heights.length >> 1] * (o.detLimit / longSide);
      if (median < o.smallTextPx) {
        detLimit = o.smallTextLimit;
        signal?.throwIfAborted();
        const finer = await this.detector.detect(raster, detLimit);
        if (finer.boxes.length > 0) det = finer;
      }
    }
    let boxes = det.boxes;
    if (boxes.length > o.maxLines) boxes = [...boxes].sort((a, b) => quadArea(b.quad) - quadArea(a.quad)).slice(0, o.maxLines);

    // Orientation: read the largest few lines the likely way; try the other ways only when unsure.
    const bySize = [...boxes.keys()].sort((a, b) => quadArea(boxes[b].quad) - quadArea(boxes[a].quad));
    const sample = bySize.slice(0, o.orientationSample);
    let best: { rotation: Rotation; score: number; readings: Map<number, Recognition> } | null = null;
    for (const [trial, rotation] of orientationOrder(boxes).entries()) {
      signal?.throwIfAborted();
      // The likely way is read in full (kept if it wins); other ways only by the start of each line.
      const cands = sample.map((i) => orient(boxes[i].quad, rotation, raster.width, raster.height)).map((c) => (trial === 0 ? c : lineStart(c)));
      const readings = await this.readCandidates(raster, cands);
      const score = meanConfidence(readings);
      // Another way round must be clearly better than the likely one (scene clutter reads badly every way).
      if (!best || score > best.score + ORIENTATION_MARGIN) best = { rotation, score, readings: new Map(sample.map((i, k) => [i, readings[k]])) };
      if (score >= o.orientationConfident) break;
    }
    const rotation = best?.rotation ?? 0;
    if (rotation !== orientationOrder(boxes)[0]) best = best && { ...best, readings: new Map() };
    // A turned page is turned upright and detected again: the detector finds upright lines best.
    let page = raster;
    let pageBoxes = boxes;
    let found = det.boxes.length;
    let regions = det.regions;
    let known = best?.readings ?? new Map<number, Recognition>();
    if (rotation !== 0) {
      signal?.throwIfAborted();
      page = rotateRaster(raster, rotation);
      const again = await this.detector.detect(page, detLimit);
      regions = again.regions;
      found = again.boxes.length;
      pageBoxes = again.boxes.length > o.maxLines
        ? [...again.boxes].sort((a, b) => quadArea(b.quad) - quadArea(a.quad)).slice(0, o.maxLines)
        : again.boxes;
      known = new Map();
    }
    const cands = pageBoxes.map((b) => orient(b.quad, 0, page.width, page.height));
    let cropFrom = page;
    let scale = 1;
    const detailed = detail && pageBoxes.length > 0 ? await detail() : null;
    if (detailed) {
      cropFrom = rotation === 0 ? detailed : rotateRaster(detailed, rotation);
      scale = cropFrom.width / page.width;
      known = new Map();
    }
    const rest = [...pageBoxes.keys()].filter((i) => !known.has(i));
    signal?.throwIfAborted();
    const restReadings = await this.readCandidates(cropFrom, rest.map((i) => cands[i]), scale);
    const readings = new Map(known);
    rest.forEach((i, k) => readings.set(i, restReadings[k]));

    const kept = [...pageBoxes.keys()].filter((i) => {
      const r = readings.get(i);
      return r !== undefined && r.confidence >= o.dropScore && r.text.trim() !== '';
    });
    const rows = readingOrder(kept.map((i) => cands[i].upright));
    const lines: OcrLine[] = [];
    const rowTexts: string[] = [];
    for (const row of rows) {
      const texts: string[] = [];
      for (const k of row) {
        const i = kept[k];
        const r = readings.get(i) as Recognition;
        const text = r.text.trim().replace(/\s+/g, ' ');
        const quad = cands[i].source.map((p) => unrotatePoint(p, rotation, raster.width, raster.height)) as Quad;
        lines.push({ text, confidence: r.confidence, quad });
        texts.push(text);
      }
      rowTexts.push(texts.join(' '));
    }
    const text = rowTexts.join('\n');
    return { text, lines, rotation, detected: true, boxes: found, truncated: found > pageBoxes.length || regions > this.detectorCandidateCap(), language: languageHint(text) };
  }

  /** The whole image read as one line, or `fallback` when that reading is not confident. */
  private async readWhole(raster: Raster, fallback: OcrResult): Promise<OcrResult> {
    const empty = fallback;
    const [r] = await this.recognizer.recognize([raster]);
    const text = r.text.trim().replace(/\s+/g, ' ');
    if (r.confidence < WHOLE_LINE_MIN_CONFIDENCE || text === '') return fallback;
    const { width: w, height: h } = raster;
    return {
      ...empty,
      rotation: 0,
      truncated: false,
      text,
      lines: [{ text, confidence: r.confidence, quad: [[0, 0], [w, 0], [w, h], [0, h]] }],
      detected: true,
      boxes: 1,
      language: languageHint(text),
    };
  }

  private detectorCandidateCap(): number {
    return DEFAULT_DB_OPTIONS.maxCandidates;
  }
}
