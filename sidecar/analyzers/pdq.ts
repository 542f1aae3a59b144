/**
 * PDQ perceptual image hash (256 bits + a 0..100 quality figure), written from Meta's published
 * description of the algorithm ("The TMK+PDQF video-hashing algorithm and the PDQ image-hashing
 * algorithm", ThreatExchange hashing.pdf).
 *
 * Pure functions, no I/O: the indexing pipeline hands over its already-decoded working image.
 *
 * Steps:
 *   1. luminance  Y = 0.299 R + 0.587 G + 0.114 B (single-channel input is used as Y directly);
 *   2. the reference tool's pre-shrink (on by default, see `PdqOptions.referenceResize`): an image
 *      with a side above 512 px is first resampled nearest-neighbour to exactly 512 x 512;
 *   3. a "Jarosz" tent filter: two rounds of a horizontal then a vertical box filter, each box
 *      about 1/128 of the image dimension wide, then point-sampling at 64 x 64 cell centres;
 *   4. quality: the sum of quantised neighbour differences of the 64 x 64 image, scaled to 0..100;
 *   5. a 2-D DCT of the 64 x 64 image, keeping frequencies 1..16 in each direction (no DC);
 *   6. one bit per coefficient: set when it is above the median (the 128th smallest of the 256),
 *      so a hash of a non-flat image has exactly 128 bits set.
 *
 * Every float step is rounded to IEEE single precision (Math.fround / Float32Array) in the same
 * order as the published C++ reference, so identical pixels give identical bits.
 *
 * Hash layout: 32 bytes, big-endian, the same order as the usual 64-hex-digit PDQ string. Bit k of
 * the hash (k = 16 * row + column of the 16 x 16 coefficient block) is bit (k & 7) of byte 31 - (k >> 3).
 */

/** Hamming distance at or below which two PDQ hashes are considered the same picture. */
export const PDQ_MATCH_DISTANCE = 31;
/** Hashes with quality below this are not trustworthy (flat or nearly featureless images). */
export const PDQ_MIN_QUALITY = 50;
/** Bytes in a PDQ hash. */
export const PDQ_HASH_BYTES = 32;
/** Images with either side below this are not hashed: all-zero hash, quality 0. */
export const PDQ_MIN_DIMENSION = 5;
/** The reference command-line hasher shrinks larger images to this square first. */
export const PDQ_REFERENCE_RESIZE = 512;

export interface PdqResult {
  /** 32 bytes, big-endian (same order as the hex string). */
  hash: Uint8Array;
  /** 0..100; below PDQ_MIN_QUALITY the hash says little about the picture. */
  quality: number;
}

/**
 * The eight symmetries of the square, in the order the reference returns them. Geometry, for an
 * image as displayed (y pointing down):
 *   original, rotate90 (90 degrees anticlockwise; sharp's rotate(270)), rotate180,
 *   rotate270 (90 degrees clockwise; sharp's rotate(90)), flipX (upside down; sharp's flip()),
 *   flipY (left-right mirror; sharp's flop()), flipPlus1 (transpose about the main diagonal),
 *   flipMinus1 (transpose about the anti-diagonal).
 * Each entry is the hash the transformed image would have, derived from the one DCT.
 */
export const PDQ_DIHEDRAL_NAMES = [
  'original',
  'rotate90',
  'rotate180',
  'rotate270',
  'flipX',
  'flipY',
  'flipPlus1',
  'flipMinus1',
] as const;
export type PdqDihedralName = (typeof PDQ_DIHEDRAL_NAMES)[number];

export interface PdqDihedralResult {
  /** Eight hashes, indexed like PDQ_DIHEDRAL_NAMES. */
  hashes: Uint8Array[];
  quality: number;
}

export interface PdqOptions {
  /**
   * Apply the reference tool's pre-shrink (pdq-photo-hasher: any image with a side above 512 px is
   * resampled nearest-neighbour to 512 x 512, aspect ratio not kept) before filtering. Default true:
   * this is what makes hashes agree with published reference values. With false the tent filter
   * runs on every pixel (what the library-level reference function does when handed a full image).
   */
  referenceResize?: boolean;
}

export type PixelChannels = 1 | 2 | 3 | 4;

const f32 = Math.fround;

// ---------------------------------------------------------------- luminance

const LUMA_R = f32(0.299);
const LUMA_G = f32(0.587);
const LUMA_B = f32(0.114);

/** Single-precision products coefficient * value for every 8-bit value. */
function productTable(coefficient: number): Float32Array {
  const t = new Float32Array(256);
  for (let v = 0; v < 256; v++) t[v] = coefficient * v; // one product, rounded once on store
  return t;
}
const LUMA_R_TABLE = productTable(LUMA_R);
const LUMA_G_TABLE = productTable(LUMA_G);
const LUMA_B_TABLE = productTable(LUMA_B);

function checkPixels(pixels: Uint8Array, width: number, height: number, channels: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`PDQ: bad image size ${width}x${height}`);
  }
  if (channels !== 1 && channels !== 2 && channels !== 3 && channels !== 4) {
    throw new RangeError(`PDQ: ${channels} channels; expected 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA)`);
  }
  if (pixels.length < width * height * channels) {
    throw new RangeError(`PDQ: buffer holds ${pixels.length} bytes, ${width}x${height}x${channels} needs ${width * height * channels}`);
  }
}

/** Nearest-neighbour source index for destination index `d` when resampling `from` -> `to` samples. */
function nearestSource(d: number, from: number, to: number): number {
  return Math.floor((d * from) / to);
}

/**
 * Luminance of an 8-bit interleaved image as a row-major Float32Array. With `referenceResize`
 * (the default) an image with a side above 512 px comes back as 512 x 512 nearest-neighbour
 * samples, exactly as the reference tool would see it; the returned size says which.
 */
export function lumaFromPixels(
  pixels: Uint8Array,
  width: number,
  height: number,
  channels: PixelChannels = 3,
  options: PdqOptions = {},
): { luma: Float32Array; width: number; height: number } {
  checkPixels(pixels, width, height, channels);
  const shrink = (options.referenceResize ?? true) && (width > PDQ_REFERENCE_RESIZE || height > PDQ_REFERENCE_RESIZE);
  const outW = shrink ? PDQ_REFERENCE_RESIZE : width;
  const outH = shrink ? PDQ_REFERENCE_RESIZE : height;
  const luma = new Float32Array(outW * outH);
  const cols = new Int32Array(outW);
  for (let x = 0; x < outW; x++) cols[x] = (shrink ? nearestSource(x, width, outW) : x) * channels;
  for (let y = 0; y < outH; y++) {
    const rowBase = (shrink ? nearestSource(y, height, outH) : y) * width * channels;
    const out = y * outW;
    if (channels >= 3) {
      for (let x = 0; x < outW; x++) {
        const o = rowBase + cols[x];
        luma[out + x] = f32(LUMA_R_TABLE[pixels[o]] + LUMA_G_TABLE[pixels[o + 1]]) + LUMA_B_TABLE[pixels[o + 2]];
      }
    } else {
      for (let x = 0; x < outW; x++) luma[out + x] = pixels[rowBase + cols[x]];
    }
  }
  return { luma, width: outW, height: outH };
}

/** Same as lumaFromPixels but for a luminance plane already in floats (no copy when no resize). */
function shrinkLuma(luma: Float32Array, width: number, height: number, options: PdqOptions): { luma: Float32Array; width: number; height: number } {
  const shrink = (options.referenceResize ?? true) && (width > PDQ_REFERENCE_RESIZE || height > PDQ_REFERENCE_RESIZE);
  if (!shrink) return { luma, width, height };
  const n = PDQ_REFERENCE_RESIZE;
  const out = new Float32Array(n * n);
  for (let y = 0; y < n; y++) {
    const src = nearestSource(y, height, n) * width;
    for (let x = 0; x < n; x++) out[y * n + x] = luma[src + nearestSource(x, width, n)];
  }
  return { luma: out, width: n, height: n };
}

// ---------------------------------------------------------------- tent filter and decimation

/** Box width per pass so that two passes cover one 64th of the dimension (rounded up). */
function boxWidth(dimension: number): number {
  return Math.floor((dimension + 2 * 64 - 1) / (2 * 64));
}

/**
 * Running-mean box filter along each row. The window for output o spans [o - behind, o + ahead],
 * clipped at the ends (where it averages fewer samples). The running sum adds the entering sample
 * before dropping the leaving one, in single precision, so the rounding matches the reference.
 */
function boxRows(src: Float32Array, dst: Float32Array, width: number, height: number, window: number): void {
  const ahead = Math.floor(window / 2);
  const behind = window - 1 - ahead;
  for (let y = 0; y < height; y++) {
    const base = y * width;
    let sum = 0;
    let n = 0;
    let enter = 0; // next sample to add
    let leave = 0; // next sample to drop
    for (; enter < ahead; enter++, n++) sum = f32(sum + src[base + enter]);
    for (let o = 0; o < width; o++) {
      if (enter < width) {
        sum = f32(sum + src[base + enter]);
        enter++;
        n++;
      }
      if (o - behind > leave) {
        sum = f32(sum - src[base + leave]);
        leave++;
        n--;
      }
      dst[base + o] = sum / n;
    }
  }
}

/**
 * The same filter along each column, done a row at a time (one running sum per column) so memory
 * is read in order. Per column the additions happen in exactly the order boxRows would use.
 */
function boxColumns(src: Float32Array, dst: Float32Array, width: number, height: number, window: number, sums: Float32Array): void {
  const ahead = Math.floor(window / 2);
  const behind = window - 1 - ahead;
  sums.fill(0);
  let n = 0;
  let enter = 0; // next row to add
  let leave = 0; // next row to drop
  for (; enter < ahead; enter++, n++) {
    const base = enter * width;
    for (let x = 0; x < width; x++) sums[x] += src[base + x]; // Float32Array store rounds to single
  }
  for (let o = 0; o < height; o++) {
    if (enter < height) {
      const base = enter * width;
      for (let x = 0; x < width; x++) sums[x] += src[base + x];
      enter++;
      n++;
    }
    if (o - behind > leave) {
      const base = leave * width;
      for (let x = 0; x < width; x++) sums[x] -= src[base + x];
      leave++;
      n--;
    }
    const base = o * width;
    for (let x = 0; x < width; x++) dst[base + x] = sums[x] / n;
  }
}

/** Rows/columns of the full image that the 64 x 64 grid samples: the centre of each cell. */
function gridPositions(size: number): Int32Array {
  const out = new Int32Array(64);
  for (let i = 0; i < 64; i++) out[i] = Math.floor(((i + 0.5) * size) / 64);
  return out;
}

/**
 * The last column pass, only for the 64 sampled columns and only written at the 64 sampled rows:
 * the running sums still take every row in order (so rounding is unchanged), but nothing else is
 * computed. Returns the 64 x 64 image.
 */
function boxColumnsSampled(src: Float32Array, width: number, height: number, window: number): Float32Array {
  const ahead = Math.floor(window / 2);
  const behind = window - 1 - ahead;
  const xs = gridPositions(width);
  const ys = gridPositions(height);
  const sums = new Float32Array(64);
  const out = new Float32Array(64 * 64);
  let n = 0;
  let enter = 0;
  let leave = 0;
  let nextRow = 0; // next grid row to emit
  for (; enter < ahead; enter++, n++) {
    const base = enter * width;
    for (let j = 0; j < 64; j++) sums[j] += src[base + xs[j]];
  }
  for (let o = 0; o < height && nextRow < 64; o++) {
    if (enter < height) {
      const base = enter * width;
      for (let j = 0; j < 64; j++) sums[j] += src[base + xs[j]];
      enter++;
      n++;
    }
    if (o - behind > leave) {
      const base = leave * width;
      for (let j = 0; j < 64; j++) sums[j] -= src[base + xs[j]];
      leave++;
      n--;
    }
    while (nextRow < 64 && ys[nextRow] === o) {
      for (let j = 0; j < 64; j++) out[nextRow * 64 + j] = sums[j] / n;
      nextRow++;
    }
  }
  return out;
}

/**
 * Two rounds of (box along rows, box along columns), then the 64 x 64 point samples. Filters `a`
 * in place (b is scratch); the final column pass only computes what the samples need.
 */
function tentFilterAndSample(a: Float32Array, b: Float32Array, width: number, height: number): Float32Array {
  const alongRows = boxWidth(width);
  const alongCols = boxWidth(height);
  boxRows(a, b, width, height, alongRows);
  boxColumns(b, a, width, height, alongCols, new Float32Array(width));
  boxRows(a, b, width, height, alongRows);
  return boxColumnsSampled(b, width, height, alongCols);
}

// ---------------------------------------------------------------- quality

/** Sum of |difference| between neighbours, each quantised to whole percent of full scale. */
function quality64(img: Float32Array): number {
  let total = 0;
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 64; j++) {
      const u = img[i * 64 + j];
      if (i < 63) total += Math.abs(Math.trunc(f32(f32(f32(u - img[(i + 1) * 64 + j]) * 100) / 255)));
      if (j < 63) total += Math.abs(Math.trunc(f32(f32(f32(u - img[i * 64 + j + 1]) * 100) / 255)));
    }
  }
  return Math.min(100, Math.floor(total / 90));
}

// ---------------------------------------------------------------- DCT

/** Rows 1..16 of the orthonormal 64-point DCT-II basis (row r holds frequency r + 1). */
const DCT_BASIS: Float32Array = (() => {
  const m = new Float32Array(16 * 64);
  const scale = f32(Math.sqrt(2 / 64));
  for (let r = 0; r < 16; r++) {
    for (let k = 0; k < 64; k++) m[r * 64 + k] = scale * Math.cos(((Math.PI / 2 / 64) * (r + 1)) * (2 * k + 1));
  }
  return m;
})();

/** The 16 x 16 low-frequency block (DC excluded) of the 2-D DCT of a 64 x 64 image: C = D X D^T. */
function dct16(img: Float32Array): Float32Array {
  const half = new Float32Array(16 * 64); // D X, one row per vertical frequency
  for (let r = 0; r < 16; r++) {
    for (let x = 0; x < 64; x++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f32(s + f32(DCT_BASIS[r * 64 + k] * img[k * 64 + x]));
      half[r * 64 + x] = s;
    }
  }
  const out = new Float32Array(256);
  for (let r = 0; r < 16; r++) {
    for (let c = 0; c < 16; c++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s = f32(s + f32(half[r * 64 + k] * DCT_BASIS[c * 64 + k]));
      out[r * 16 + c] = s;
    }
  }
  return out;
}

// ---------------------------------------------------------------- bits

/** One bit per coefficient: above the lower median of the 256 values. */
function coefficientsToHash(coeffs: Float32Array): Uint8Array {
  const sorted = Float32Array.from(coeffs).sort();
  const median = sorted[127];
  const hash = new Uint8Array(PDQ_HASH_BYTES);
  for (let k = 0; k < 256; k++) {
    if (coeffs[k] > median) hash[31 - (k >> 3)] |= 1 << (k & 7);
  }
  return hash;
}

/**
 * The DCT block of a transformed image, from the original block. A left-right mirror flips the
 * sign of odd horizontal frequencies (columns c with c + 1 odd, i.e. even c); an upside-down flip
 * does the same for rows; a transpose swaps the axes. Rotations are compositions of these.
 */
function transformBlock(block: Float32Array, which: number): Float32Array {
  const out = new Float32Array(256);
  for (let r = 0; r < 16; r++) {
    for (let c = 0; c < 16; c++) {
      const v = block[r * 16 + c];
      const rowOdd = (r & 1) === 0; // frequency r + 1 is odd: changes sign under a vertical flip
      const colOdd = (c & 1) === 0; // frequency c + 1 is odd: changes sign under a horizontal mirror
      switch (which) {
        case 0: out[r * 16 + c] = v; break; // original
        case 1: out[c * 16 + r] = colOdd ? -v : v; break; // rotate 90 anticlockwise
        case 2: out[r * 16 + c] = rowOdd !== colOdd ? -v : v; break; // rotate 180
        case 3: out[c * 16 + r] = rowOdd ? -v : v; break; // rotate 90 clockwise
        case 4: out[r * 16 + c] = rowOdd ? -v : v; break; // upside down
        case 5: out[r * 16 + c] = colOdd ? -v : v; break; // left-right mirror
        case 6: out[c * 16 + r] = v; break; // transpose
        case 7: out[c * 16 + r] = rowOdd !== colOdd ? -v : v; break; // anti-transpose
        default: throw new RangeError(`no dihedral transform ${which}`);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------- entry points

interface Analysis {
  block: Float32Array | null; // null: too small to hash
  quality: number;
}

function analyseLuma(luma: Float32Array, width: number, height: number, options: PdqOptions): Analysis {
  if (width < PDQ_MIN_DIMENSION || height < PDQ_MIN_DIMENSION) return { block: null, quality: 0 };
  const src = shrinkLuma(luma, width, height, options);
  let img64: Float32Array;
  if (src.width === 64 && src.height === 64) {
    img64 = Float32Array.from(src.luma);
  } else {
    const a = src.luma === luma ? Float32Array.from(luma) : src.luma; // never filter the caller's buffer
    img64 = tentFilterAndSample(a, new Float32Array(a.length), src.width, src.height);
  }
  return { block: dct16(img64), quality: quality64(img64) };
}

function analysePixels(pixels: Uint8Array, width: number, height: number, channels: PixelChannels, options: PdqOptions): Analysis {
  if (width < PDQ_MIN_DIMENSION || height < PDQ_MIN_DIMENSION) {
    checkPixels(pixels, width, height, channels);
    return { block: null, quality: 0 };
  }
  const l = lumaFromPixels(pixels, width, height, channels, options);
  return analyseLuma(l.luma, l.width, l.height, { referenceResize: false }); // already shrunk if asked
}

/**
 * PDQ hash of an 8-bit interleaved image (row-major, `channels` bytes per pixel: 3 = RGB as the
 * pipeline's working image, 4 = RGBA, 1 = grey, 2 = grey+alpha; alpha is ignored).
 */
export function pdqFromRgb(rgb: Uint8Array, width: number, height: number, channels: PixelChannels = 3, options: PdqOptions = {}): PdqResult {
  const a = analysePixels(rgb, width, height, channels, options);
  return { hash: a.block ? coefficientsToHash(a.block) : new Uint8Array(PDQ_HASH_BYTES), quality: a.quality };
}

/** PDQ hash of a luminance plane (row-major floats on a 0..255 scale). The buffer is not modified. */
export function pdqFromLuma(luma: Float32Array, width: number, height: number, options: PdqOptions = {}): PdqResult {
  if (luma.length < width * height) throw new RangeError(`PDQ: luma holds ${luma.length} values, ${width}x${height} needs ${width * height}`);
  const a = analyseLuma(luma, width, height, options);
  return { hash: a.block ? coefficientsToHash(a.block) : new Uint8Array(PDQ_HASH_BYTES), quality: a.quality };
}

function dihedralFrom(a: Analysis): PdqDihedralResult {
  const hashes = PDQ_DIHEDRAL_NAMES.map((_, i) => (a.block ? coefficientsToHash(transformBlock(a.block, i)) : new Uint8Array(PDQ_HASH_BYTES)));
  return { hashes, quality: a.quality };
}

/** The hashes of all eight rotations/mirrors of the image (order: PDQ_DIHEDRAL_NAMES), from one DCT. */
export function pdqDihedral(rgb: Uint8Array, width: number, height: number, channels: PixelChannels = 3, options: PdqOptions = {}): PdqDihedralResult {
  return dihedralFrom(analysePixels(rgb, width, height, channels, options));
}

/** pdqDihedral for a luminance plane. */
export function pdqDihedralFromLuma(luma: Float32Array, width: number, height: number, options: PdqOptions = {}): PdqDihedralResult {
  if (luma.length < width * height) throw new RangeError(`PDQ: luma holds ${luma.length} values, ${width}x${height} needs ${width * height}`);
  return dihedralFrom(analyseLuma(luma, width, height, options));
}

// ---------------------------------------------------------------- hash utilities

const HEX = '0123456789abcdef';

/** 64 lower-case hex digits, the usual PDQ text form. */
export function hashToHex(hash: Uint8Array): string {
  if (hash.length !== PDQ_HASH_BYTES) throw new RangeError(`PDQ hash must be ${PDQ_HASH_BYTES} bytes, got ${hash.length}`);
  let s = '';
  for (let i = 0; i < PDQ_HASH_BYTES; i++) s += HEX[hash[i] >> 4] + HEX[hash[i] & 15];
  return s;
}

/** Parses 64 hex digits (either case). Throws on anything else. */
export function hexToHash(hex: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new RangeError(`not a PDQ hash (64 hex digits): ${JSON.stringify(hex.slice(0, 80))}`);
  const out = new Uint8Array(PDQ_HASH_BYTES);
  for (let i = 0; i < PDQ_HASH_BYTES; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Number of differing bits (0..256 for PDQ hashes). */
export function hamming(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError(`hashes differ in length (${a.length} vs ${b.length})`);
  let d = 0;
  let i = 0;
  for (; i + 4 <= a.length; i += 4) {
    d += popcount32(((a[i] ^ b[i]) << 24) | ((a[i + 1] ^ b[i + 1]) << 16) | ((a[i + 2] ^ b[i + 2]) << 8) | (a[i + 3] ^ b[i + 3]));
  }
  for (; i < a.length; i++) d += popcount32(a[i] ^ b[i]);
  return d;
}

export interface NearDuplicateOptions {
  /** Largest Hamming distance that still counts as the same picture (default 31). */
  maxDistance?: number;
  /** Both hashes need at least this quality (default 50). */
  minQuality?: number;
}

/** Whether two PDQ results are near-duplicates: close enough and both trustworthy. */
export function isNearDuplicate(a: PdqResult, b: PdqResult, options: NearDuplicateOptions = {}): boolean {
  const minQuality = options.minQuality ?? PDQ_MIN_QUALITY;
  if (a.quality < minQuality || b.quality < minQuality) return false;
  return hamming(a.hash, b.hash) <= (options.maxDistance ?? PDQ_MATCH_DISTANCE);
}
