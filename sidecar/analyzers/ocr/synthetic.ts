import type { Raster } from './raster';

/** Samples per side of the grid the palette is counted on. */
const GRID = 128;
/** Colours whose share is summed. */
const TOP_COLOURS = 8;
/**
 * Share of the top colours above which an image counts as drawn rather than photographed. Measured
 * on ../shared/data: photos (nature, UKBench, LFW, scene text) 0.02-0.58; text pages, scans and clip
 * art 0.63-1.00, nearly all above 0.89.
 */
export const SYNTHETIC_PALETTE_SHARE = 0.75;

/**
 * Share of an even grid of pixels covered by the image's eight most common colours (6 bits per
 * channel). Screenshots, slides, diagrams and scans are a few flat colours; photos are not.
 */
export function paletteShare(raster: Raster): number {
  const { data, width: w, height: h } = raster;
  if (w < 1 || h < 1) return 0;
  const counts = new Map<number, number>();
  let n = 0;
  for (let j = 0; j < GRID; j++) {
    const y = Math.floor(((j + 0.5) * h) / GRID);
    for (let i = 0; i < GRID; i++) {
      const o = (y * w + Math.floor(((i + 0.5) * w) / GRID)) * 3;
      const key = ((data[o] >> 2) << 12) | ((data[o + 1] >> 2) << 6) | (data[o + 2] >> 2);
      counts.set(key, (counts.get(key) ?? 0) + 1);
      n++;
    }
  }
  const top = [...counts.values()].sort((a, b) => b - a).slice(0, TOP_COLOURS);
  return top.reduce((a, b) => a + b, 0) / n;
}

/** A screenshot, slide, diagram or scan rather than a photo. */
export function looksSynthetic(raster: Raster): boolean {
  return paletteShare(raster) >= SYNTHETIC_PALETTE_SHARE;
}
