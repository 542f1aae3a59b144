/**
 * How a stored embedding becomes a vector in the similarity index:
 *
 *   v = normalise(power(e) - mean),   power(x) = sign(x) * |x|^0.25,
 *
 * where `mean` is the mean of power(e) over the catalog's distinct contents. Cosine of two such
 * vectors is the similarity Loupe reports.
 *
 * Why the power step: MobileNetV2's pooled activations are non-negative and a few channels carry
 * most of the energy, so plain centred cosine mostly says "same kind of picture" (two forest
 * floors, two head-and-shoulders portraits of different men score as high as a 30-degree rotated
 * crop of one photo). Flattening the magnitudes (|x|^0.25) weighs which channels fire over how
 * strongly: on the project's ~165 test photos the gap between that rotated crop and the closest
 * unrelated pair went from +0.03 to +0.17 (measurements in similar-shots.ts).
 */
export const SIMILARITY_POWER = 0.25;

function power(x: number, p: number): number {
  if (x === 0 || p === 1) return x;
  return x > 0 ? Math.pow(x, p) : -Math.pow(-x, p);
}

/**
 * power(e) - mean, L2-normalised, written into `out`. Returns false for a vector with no direction
 * left. `p` = 1 with no mean is plain L2 normalisation (CLIP: image and text vectors share one space).
 */
export function prepareVector(raw: ArrayLike<number>, mean: Float32Array | null, out: Float32Array, p = SIMILARITY_POWER): boolean {
  let norm = 0;
  for (let i = 0; i < out.length; i++) {
    const x = power(raw[i], p) - (mean ? mean[i] : 0);
    out[i] = x;
    norm += x * x;
  }
  if (!(norm > 1e-12) || !Number.isFinite(norm)) return false;
  const inv = 1 / Math.sqrt(norm);
  for (let i = 0; i < out.length; i++) out[i] *= inv;
  return true;
}

/** Cosine of two prepared (unit-length) vectors. */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function encodeFloats(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeFloats(s: string, length: number): Float32Array | null {
  const buf = Buffer.from(s, 'base64');
  if (buf.length !== length * 4) return null;
  const out = new Float32Array(length);
  Buffer.from(out.buffer).set(buf);
  return out;
}
