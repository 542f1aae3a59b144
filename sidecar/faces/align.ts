import type { Point, RgbImage } from './yunet';

/** Side of the aligned face crop MobileFaceNet (and ArcFace-family models) read. */
export const ALIGNED_SIZE = 112;

/**
 * The standard ArcFace 5-point template for a 112x112 crop: eye (image left), eye (image right),
 * nose tip, mouth corner (image left), mouth corner (image right). Same order as YuNet's landmarks.
 */
export const ARCFACE_TEMPLATE: readonly Point[] = [
  [38.2946, 51.6963],
  [73.5318, 51.5014],
  [56.0252, 71.7366],
  [41.5493, 92.3655],
  [70.7299, 92.2041],
];

/** x' = a*x - b*y + tx, y' = b*x + a*y + ty: rotation, uniform scale and translation. */
export interface Similarity {
  a: number;
  b: number;
  tx: number;
  ty: number;
}

/**
 * The similarity transform that maps `src` onto `dst` with the least squared error (closed form,
 * as in Umeyama 1991 for 2-D without reflection): centre both point sets, then
 * a = sum(xs.xd + ys.yd) / sum|s|^2, b = sum(xs.yd - ys.xd) / sum|s|^2, t = mean(dst) - R.mean(src).
 */
export function fitSimilarity(src: readonly Point[], dst: readonly Point[]): Similarity {
  const n = src.length;
  if (n < 2 || dst.length !== n) throw new Error(`fitSimilarity needs matching point lists (got ${n} and ${dst.length})`);
  let msx = 0, msy = 0, mdx = 0, mdy = 0;
  for (let i = 0; i < n; i++) {
    msx += src[i][0]; msy += src[i][1]; mdx += dst[i][0]; mdy += dst[i][1];
  }
  msx /= n; msy /= n; mdx /= n; mdy /= n;
  let num_a = 0, num_b = 0, den = 0;
  for (let i = 0; i < n; i++) {
    const xs = src[i][0] - msx, ys = src[i][1] - msy;
    const xd = dst[i][0] - mdx, yd = dst[i][1] - mdy;
    num_a += xs * xd + ys * yd;
    num_b += xs * yd - ys * xd;
    den += xs * xs + ys * ys;
  }
  if (den <= 1e-12) throw new Error('fitSimilarity: the source points coincide');
  const a = num_a / den;
  const b = num_b / den;
  return { a, b, tx: mdx - (a * msx - b * msy), ty: mdy - (b * msx + a * msy) };
}

export function applySimilarity(t: Similarity, [x, y]: Point): Point {
  return [t.a * x - t.b * y + t.tx, t.b * x + t.a * y + t.ty];
}

export function invertSimilarity(t: Similarity): Similarity {
  const d = t.a * t.a + t.b * t.b;
  const a = t.a / d;
  const b = -t.b / d;
  return { a, b, tx: -(a * t.tx - b * t.ty), ty: -(b * t.tx + a * t.ty) };
}

/**
 * The aligned face: each output pixel is sampled (bilinear) from the source at the inverse-mapped
 * position; outside the image the nearest edge pixel is used. Packed RGB, size x size.
 */
export function warpAligned(img: RgbImage, landmarks: readonly Point[], size = ALIGNED_SIZE): Buffer {
  const scale = size / ALIGNED_SIZE;
  const template = ARCFACE_TEMPLATE.map(([x, y]) => [x * scale, y * scale] as Point);
  const inv = invertSimilarity(fitSimilarity(landmarks, template));
  const { rgb, rgbWidth: w, rgbHeight: h } = img;
  const out = Buffer.alloc(size * size * 3);
  // When the face is much larger in the source than the crop, average a small grid of samples
  // per output pixel so the crop is not aliased (the source pixel step per output pixel is |s|).
  const step = Math.sqrt(inv.a * inv.a + inv.b * inv.b);
  const taps = Math.min(4, Math.max(1, Math.round(step)));
  const sample = (sx: number, sy: number, acc: Float64Array) => {
    sx = Math.min(w - 1, Math.max(0, sx));
    sy = Math.min(h - 1, Math.max(0, sy));
    const x0 = Math.floor(sx), y0 = Math.floor(sy);
    const x1 = Math.min(w - 1, x0 + 1), y1 = Math.min(h - 1, y0 + 1);
    const fx = sx - x0, fy = sy - y0;
    const i00 = (y0 * w + x0) * 3, i01 = (y0 * w + x1) * 3, i10 = (y1 * w + x0) * 3, i11 = (y1 * w + x1) * 3;
    for (let c = 0; c < 3; c++) {
      const top = rgb[i00 + c] + (rgb[i01 + c] - rgb[i00 + c]) * fx;
      const bottom = rgb[i10 + c] + (rgb[i11 + c] - rgb[i10 + c]) * fx;
      acc[c] += top + (bottom - top) * fy;
    }
  };
  const acc = new Float64Array(3);
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      acc.fill(0);
      for (let j = 0; j < taps; j++) {
        for (let i = 0; i < taps; i++) {
          const uu = u + (i + 0.5) / taps - 0.5;
          const vv = v + (j + 0.5) / taps - 0.5;
          sample(inv.a * uu - inv.b * vv + inv.tx, inv.b * uu + inv.a * vv + inv.ty, acc);
        }
      }
      const o = (v * size + u) * 3;
      const n = taps * taps;
      out[o] = Math.round(acc[0] / n);
      out[o + 1] = Math.round(acc[1] / n);
      out[o + 2] = Math.round(acc[2] / n);
    }
  }
  return out;
}

/**
 * Sharpness of an aligned crop: variance of the 4-neighbour Laplacian of its grey levels over the
 * inner face region (eyes to mouth), after stretching that region to a standard contrast (grey
 * standard deviation 40), so a dark or low-contrast but crisp face is not mistaken for a blurry
 * one. Faces upscaled from a few pixels score below ~30, crisp faces in the hundreds.
 */
export function laplacianVariance(crop: Buffer, size = ALIGNED_SIZE): number {
  const grey = new Float32Array(size * size);
  for (let i = 0; i < size * size; i++) grey[i] = 0.299 * crop[i * 3] + 0.587 * crop[i * 3 + 1] + 0.114 * crop[i * 3 + 2];
  const x0 = Math.round(size * 0.25), x1 = Math.round(size * 0.75);
  const y0 = Math.round(size * 0.35), y1 = Math.round(size * 0.9);
  let gs = 0, gs2 = 0, sum = 0, sum2 = 0, n = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = y * size + x;
      const l = grey[i - 1] + grey[i + 1] + grey[i - size] + grey[i + size] - 4 * grey[i];
      gs += grey[i];
      gs2 += grey[i] * grey[i];
      sum += l;
      sum2 += l * l;
      n++;
    }
  }
  const greyVar = Math.max(gs2 / n - (gs / n) ** 2, 1);
  const lapVar = sum2 / n - (sum / n) ** 2;
  return (lapVar * 1600) / greyVar;
}
