import sharp from 'sharp';

/** How the int8 MobileNetV2 is fed (models/manifest.json, MODELS.md): RGB, short side 256, centre crop 224, /255, ImageNet mean/std. */
export const INPUT_SIZE = 224;
export const RESIZE_SHORT_SIDE = 256;
export const MEAN = [0.485, 0.456, 0.406] as const;
export const STD = [0.229, 0.224, 0.225] as const;

/** Above this aspect ratio, resizing the whole image to a 256 short side would make a huge buffer. */
const MAX_ASPECT_FOR_FULL_RESIZE = 8;

export interface RgbImage {
  /** Packed 8-bit RGB, row-major. */
  rgb: Buffer;
  rgbWidth: number;
  rgbHeight: number;
}

/** The 224x224 RGB crop the model sees: the short side resized to 256 (bilinear), then the centre 224x224. */
export async function centreCrop(image: RgbImage): Promise<Buffer> {
  const { rgbWidth: w, rgbHeight: h } = image;
  if (image.rgb.length !== w * h * 3) throw new Error(`working image is ${image.rgb.length} bytes, expected ${w}x${h}x3`);
  const raw = { raw: { width: w, height: h, channels: 3 as const } };
  const scale = RESIZE_SHORT_SIDE / Math.min(w, h);
  if (Math.max(w, h) / Math.min(w, h) <= MAX_ASPECT_FOR_FULL_RESIZE) {
    const rw = Math.max(RESIZE_SHORT_SIDE, Math.round(w * scale));
    const rh = Math.max(RESIZE_SHORT_SIDE, Math.round(h * scale));
    return sharp(image.rgb, raw)
      .resize(rw, rh, { kernel: 'linear', fit: 'fill' })
      .extract({ left: Math.floor((rw - INPUT_SIZE) / 2), top: Math.floor((rh - INPUT_SIZE) / 2), width: INPUT_SIZE, height: INPUT_SIZE })
      .raw()
      .toBuffer();
  }
  // Very long strips: cut the same centre window out of the source first (identical framing), then resize it.
  const side = Math.max(1, Math.min(w, h, Math.round(INPUT_SIZE / scale)));
  return sharp(image.rgb, raw)
    .extract({ left: Math.floor((w - side) / 2), top: Math.floor((h - side) / 2), width: side, height: side })
    .resize(INPUT_SIZE, INPUT_SIZE, { kernel: 'linear', fit: 'fill' })
    .raw()
    .toBuffer();
}

/** NCHW float32 [1, 3, 224, 224]: x / 255, minus the ImageNet mean, over the ImageNet std, per channel. */
export function toInputTensor(crop: Buffer, out = new Float32Array(3 * INPUT_SIZE * INPUT_SIZE)): Float32Array {
  const plane = INPUT_SIZE * INPUT_SIZE;
  if (crop.length !== plane * 3) throw new Error(`crop is ${crop.length} bytes, expected ${plane * 3}`);
  const a = MEAN.map((m, c) => -m / STD[c]);
  const b = STD.map((s) => 1 / (255 * s));
  for (let i = 0, p = 0; i < plane; i++, p += 3) {
    out[i] = crop[p] * b[0] + a[0];
    out[plane + i] = crop[p + 1] * b[1] + a[1];
    out[2 * plane + i] = crop[p + 2] * b[2] + a[2];
  }
  return out;
}

export async function preprocess(image: RgbImage): Promise<Float32Array> {
  return toInputTensor(await centreCrop(image));
}
