import sharp from 'sharp';
import type { ClipConfig, Interpolation } from './config';

/** The working image every analyzer reads (see decode.ts): packed 8-bit RGB. */
export interface RgbImage {
  rgb: Buffer;
  rgbWidth: number;
  rgbHeight: number;
}

const KERNELS: Record<Interpolation, keyof sharp.KernelEnum> = {
  bicubic: 'cubic',
  bilinear: 'linear',
  nearest: 'nearest',
  lanczos: 'lanczos3',
};

/** Above this aspect ratio, resizing the whole strip to the short side would make a huge buffer. */
const MAX_ASPECT_FOR_FULL_RESIZE = 8;

/**
 * The square RGB crop the image tower sees, from the already-decoded working image:
 * 'shortest' scales the short side to `imageSize` and takes the centre square (OpenCLIP's
 * Resize + CenterCrop); 'squash' stretches the whole image to the square.
 */
export async function clipCrop(image: RgbImage, config: Pick<ClipConfig, 'imageSize' | 'interpolation' | 'resizeMode'>): Promise<Buffer> {
  const { rgbWidth: w, rgbHeight: h } = image;
  const s = config.imageSize;
  if (image.rgb.length !== w * h * 3) throw new Error(`working image is ${image.rgb.length} bytes, expected ${w}x${h}x3`);
  const raw = { raw: { width: w, height: h, channels: 3 as const } };
  const kernel = KERNELS[config.interpolation];
  if (config.resizeMode === 'squash') {
    return sharp(image.rgb, raw).resize(s, s, { kernel, fit: 'fill' }).raw().toBuffer();
  }
  const scale = s / Math.min(w, h);
  if (Math.max(w, h) / Math.min(w, h) <= MAX_ASPECT_FOR_FULL_RESIZE) {
    const rw = Math.max(s, Math.round(w * scale));
    const rh = Math.max(s, Math.round(h * scale));
    return sharp(image.rgb, raw)
      .resize(rw, rh, { kernel, fit: 'fill' })
      .extract({ left: Math.round((rw - s) / 2), top: Math.round((rh - s) / 2), width: s, height: s })
      .raw()
      .toBuffer();
  }
  // Long strips: cut the same centre window from the source first (same framing), then resize it.
  const side = Math.max(1, Math.min(w, h, Math.round(s / scale)));
  return sharp(image.rgb, raw)
    .extract({ left: Math.floor((w - side) / 2), top: Math.floor((h - side) / 2), width: side, height: side })
    .resize(s, s, { kernel, fit: 'fill' })
    .raw()
    .toBuffer();
}

/** CHW float32 [3, S, S], RGB order: (x / 255 - mean) / std per channel, written into `out` at `offset`. */
export function toClipTensor(crop: Buffer, config: Pick<ClipConfig, 'imageSize' | 'mean' | 'std'>, out?: Float32Array, offset = 0): Float32Array {
  const plane = config.imageSize * config.imageSize;
  if (crop.length !== plane * 3) throw new Error(`crop is ${crop.length} bytes, expected ${plane * 3}`);
  const target = out ?? new Float32Array(plane * 3);
  const a = config.mean.map((m, c) => -m / config.std[c]);
  const b = config.std.map((sd) => 1 / (255 * sd));
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    target[offset + i] = crop[p] * b[0] + a[0];
    target[offset + plane + i] = crop[p + 1] * b[1] + a[1];
    target[offset + 2 * plane + i] = crop[p + 2] * b[2] + a[2];
  }
  return target;
}

export async function clipPreprocess(image: RgbImage, config: ClipConfig): Promise<Float32Array> {
  return toClipTensor(await clipCrop(image, config), config);
}
