/**
 * Dominant colours of an image: every pixel of a small sample of the working image gets one of a
 * few everyday colour names (by hue, saturation and brightness), and each name's share of the
 * pixels is its score. Coarse on purpose: it answers "red", "blue", `color:green`, not paint chips.
 */
export const COLOUR_NAMES = ['red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown', 'black', 'white', 'grey'] as const;
export type ColourName = (typeof COLOUR_NAMES)[number];

/** Side of the copy the colours are counted on (enough for shares of a few percent). */
const SAMPLE = 64;
/** Shares below this are not kept. */
export const MIN_COLOUR_SHARE = 0.03;

/** The colour name of one sRGB pixel. */
export function colourName(r: number, g: number, b: number): ColourName {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const v = max / 255;
  const s = max === 0 ? 0 : (max - min) / max;
  if (v < 0.18) return 'black';
  if (s < 0.18 || max - min < 20) return v > 0.82 ? 'white' : v < 0.3 ? 'black' : 'grey';
  let h: number;
  const d = max - min;
  if (max === r) h = (60 * ((g - b) / d) + 360) % 360;
  else if (max === g) h = 60 * ((b - r) / d) + 120;
  else h = 60 * ((r - g) / d) + 240;
  if (h < 15 || h >= 345) {
    if (v < 0.55) return 'brown';
    return s < 0.5 && v > 0.7 ? 'pink' : 'red';
  }
  if (h < 42) return v < 0.6 ? 'brown' : 'orange';
  if (h < 70) return v < 0.45 ? 'brown' : 'yellow';
  if (h < 165) return 'green';
  if (h < 255) return 'blue';
  if (h < 290) return 'purple';
  return s < 0.6 || v > 0.75 ? 'pink' : 'purple';
}

export interface ColourShare {
  colour: ColourName;
  /** Share of the pixels, 0..1. */
  share: number;
}

/**
 * Colour shares of packed RGB pixels, largest first, those >= MIN_COLOUR_SHARE only. Pixels of
 * exactly (128, 128, 128) are left out: the decoder flattens transparency onto that grey.
 */
export function colourShares(rgb: Uint8Array): ColourShare[] {
  const counts = new Map<ColourName, number>();
  let n = 0;
  for (let i = 0; i + 2 < rgb.length; i += 3) {
    if (rgb[i] === 128 && rgb[i + 1] === 128 && rgb[i + 2] === 128) continue;
    n++;
    const c = colourName(rgb[i], rgb[i + 1], rgb[i + 2]);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  return [...counts]
    .map(([colour, k]) => ({ colour, share: k / Math.max(1, n) }))
    .filter((c) => c.share >= MIN_COLOUR_SHARE)
    .sort((a, b) => b.share - a.share || a.colour.localeCompare(b.colour));
}

/**
 * Pixels sampled on an even grid of at most SAMPLE x SAMPLE cells, each the mean of the 2x2 block
 * at the cell's centre: enough for shares of a few percent, without resizing the whole image.
 */
export function samplePixels(rgb: Uint8Array, width: number, height: number, grid = SAMPLE): Uint8Array {
  const cols = Math.max(1, Math.min(grid, width));
  const rows = Math.max(1, Math.min(grid, height));
  const out = new Uint8Array(cols * rows * 3);
  let o = 0;
  for (let r = 0; r < rows; r++) {
    const y0 = Math.min(height - 1, Math.floor(((r + 0.5) * height) / rows));
    const y1 = Math.min(height - 1, y0 + 1);
    for (let c = 0; c < cols; c++) {
      const x0 = Math.min(width - 1, Math.floor(((c + 0.5) * width) / cols));
      const x1 = Math.min(width - 1, x0 + 1);
      const a = (y0 * width + x0) * 3;
      const b = (y0 * width + x1) * 3;
      const d = (y1 * width + x0) * 3;
      const e = (y1 * width + x1) * 3;
      for (let k = 0; k < 3; k++) out[o++] = (rgb[a + k] + rgb[b + k] + rgb[d + k] + rgb[e + k] + 2) >> 2;
    }
  }
  return out;
}

/** Colour shares of a decoded working image (packed RGB, width x height). */
export async function dominantColours(image: { rgb: Buffer; rgbWidth: number; rgbHeight: number }): Promise<ColourShare[]> {
  return colourShares(samplePixels(image.rgb, image.rgbWidth, image.rgbHeight));
}
