import sharp from 'sharp';
import type { Point, Quad } from './db-postprocess';

/** An 8-bit RGB image in memory (3 channels, row-major). */
export interface Raster {
  data: Buffer;
  width: number;
  height: number;
}

/** Rotates by a multiple of 90 degrees clockwise. */
export function rotateRaster(src: Raster, degrees: 0 | 90 | 180 | 270): Raster {
  if (degrees === 0) return src;
  const { width: w, height: h, data } = src;
  const outW = degrees === 180 ? w : h, outH = degrees === 180 ? h : w;
  const out = Buffer.allocUnsafe(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let nx: number, ny: number;
      if (degrees === 90) { nx = h - 1 - y; ny = x; }
      else if (degrees === 180) { nx = w - 1 - x; ny = h - 1 - y; }
      else { nx = y; ny = w - 1 - x; }
      const s = (y * w + x) * 3, d = (ny * outW + nx) * 3;
      out[d] = data[s]; out[d + 1] = data[s + 1]; out[d + 2] = data[s + 2];
    }
  }
  return { data: out, width: outW, height: outH };
}

/** Maps a point of the raster rotated clockwise by `degrees` back to the unrotated raster (w x h). */
export function unrotatePoint(p: Point, degrees: 0 | 90 | 180 | 270, w: number, h: number): Point {
  const [x, y] = p;
  if (degrees === 90) return [y, h - x];
  if (degrees === 180) return [w - x, h - y];
  if (degrees === 270) return [w - y, x];
  return [x, y];
}

export async function resizeRaster(src: Raster, width: number, height: number): Promise<Raster> {
  if (src.width === width && src.height === height) return src;
  const data = await sharp(src.data, { raw: { width: src.width, height: src.height, channels: 3 } })
    .resize({ width, height, fit: 'fill' })
    .raw()
    .toBuffer();
  return { data, width, height };
}

/**
 * The text line under `quad` as an upright raster at its own scale, like PaddleOCR's
 * get_rotate_crop_image: width and height from the longer opposite sides, sampled along the box
 * (bilinear, edges replicated). Axis-aligned boxes are copied without resampling.
 */
export function cropQuad(src: Raster, quad: Quad): Raster {
  const [p0, p1, p2, p3] = quad;
  const w = Math.max(1, Math.trunc(Math.max(Math.hypot(p1[0] - p0[0], p1[1] - p0[1]), Math.hypot(p2[0] - p3[0], p2[1] - p3[1]))));
  const h = Math.max(1, Math.trunc(Math.max(Math.hypot(p3[0] - p0[0], p3[1] - p0[1]), Math.hypot(p2[0] - p1[0], p2[1] - p1[1]))));
  const out = Buffer.allocUnsafe(w * h * 3);
  const { width: sw, height: sh, data } = src;
  const axisAligned = p0[1] === p1[1] && p3[1] === p2[1] && p0[0] === p3[0] && p1[0] === p2[0];
  if (axisAligned) {
    const x0 = Math.round(p0[0]), y0 = Math.round(p0[1]);
    for (let y = 0; y < h; y++) {
      const sy = Math.min(sh - 1, Math.max(0, y0 + y));
      for (let x = 0; x < w; x++) {
        const sx = Math.min(sw - 1, Math.max(0, x0 + x));
        const s = (sy * sw + sx) * 3, d = (y * w + x) * 3;
        out[d] = data[s]; out[d + 1] = data[s + 1]; out[d + 2] = data[s + 2];
      }
    }
    return { data: out, width: w, height: h };
  }
  // Bilinear map of the unit square onto the quad (for a rectangle this is the affine map).
  for (let y = 0; y < h; y++) {
    const v = (y + 0.5) / h;
    for (let x = 0; x < w; x++) {
      const u = (x + 0.5) / w;
      const fx = (1 - v) * ((1 - u) * p0[0] + u * p1[0]) + v * ((1 - u) * p3[0] + u * p2[0]) - 0.5;
      const fy = (1 - v) * ((1 - u) * p0[1] + u * p1[1]) + v * ((1 - u) * p3[1] + u * p2[1]) - 0.5;
      const x0 = Math.floor(fx), y0 = Math.floor(fy);
      const ax = fx - x0, ay = fy - y0;
      const xa = Math.min(sw - 1, Math.max(0, x0)), xb = Math.min(sw - 1, Math.max(0, x0 + 1));
      const ya = Math.min(sh - 1, Math.max(0, y0)), yb = Math.min(sh - 1, Math.max(0, y0 + 1));
      const d = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = data[(ya * sw + xa) * 3 + c] * (1 - ax) + data[(ya * sw + xb) * 3 + c] * ax;
        const bot = data[(yb * sw + xa) * 3 + c] * (1 - ax) + data[(yb * sw + xb) * 3 + c] * ax;
        out[d + c] = Math.round(top * (1 - ay) + bot * ay);
      }
    }
  }
  return { data: out, width: w, height: h };
}
