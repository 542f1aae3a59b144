/**
 * Re-measures the similar-shots threshold (sidecar/vectors/similar-shots.ts) on the shared real
 * photos: `node --import tsx test/measure-similar-shots.ts`. Not part of `npm test` (about 20 s).
 *
 * Positives: the UKBench 00120 rotated crop against its original's copies. Negatives: every pair
 * from different scenes (different UKBench objects, nature photos, LabelMe scenes, LFW portraits
 * of different people). Flat images (PDQ quality < 50) are left out, as the duplicates report does.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pdqDihedral, PDQ_MIN_QUALITY } from '../sidecar/analyzers/pdq';
import { preprocess } from '../sidecar/analyzers/mobilenet/preprocess';
import { decodeImage } from '../sidecar/decode/decode';
import { dot, prepareVector, SIMILARITY_POWER } from '../sidecar/vectors/transform';
import { SIMILAR_SHOT_MIN_SIMILARITY } from '../sidecar/vectors/similar-shots';
import { mobileNet } from './helpers/mobilenet';
import { SHARED_DATA } from './helpers/temp';

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? walk(join(dir, f)) : [join(dir, f)]));
}

/** Which scene a photo shows: same scene = a positive pair, LFW same person = neither. */
function scene(path: string): string {
  const b = basename(path);
  if (b === 'alpha_channel_image.png') return 'uk00120';
  const uk = /ukbench(\d+)/.exec(b);
  if (uk) return `uk${uk[1]}`;
  if (path.includes('/lfw10/')) return `lfw:${basename(join(path, '..'))}:${b}`;
  if (path.includes('bridge') || path.includes('/modes/') || b === 'b.jpg') return 'bridge';
  if (path.includes('exif-rotn')) return 'exif-rotn';
  if (b.startsWith('portrait')) return 'portrait';
  if (b === 'c.png' || b === 'pen-and-coaster.png') return 'pen';
  return path;
}
const person = (path: string) => (path.includes('/lfw10/') ? basename(join(path, '..')) : null);

async function main(): Promise<void> {
  const model = await mobileNet();
  const files = [
    ...walk(join(SHARED_DATA, 'near-duplicates/imagededup')),
    ...walk(join(SHARED_DATA, 'text2image/nature')),
    ...walk(join(SHARED_DATA, 'faces')),
    ...walk(join(SHARED_DATA, 'pdq/data/bridge-mods')),
    ...walk(join(SHARED_DATA, 'pdq/data/reg-test-input')),
    ...walk(join(SHARED_DATA, 'pdq/data/misc-images')),
  ].filter((f) => /\.(jpe?g|png|webp|bmp)$/i.test(f));
  const seen = new Set<string>();
  const items: Array<{ path: string; raw: Float32Array }> = [];
  for (const f of files) {
    try {
      const img = await decodeImage(f, f);
      if (pdqDihedral(img.rgb, img.rgbWidth, img.rgbHeight, 3).quality < PDQ_MIN_QUALITY) continue;
      const raw = (await model.infer(await preprocess(img))).embedding;
      const key = Buffer.from(raw.buffer).toString('base64');
      if (seen.has(key)) continue; // distinct contents only, like the index's mean
      seen.add(key);
      items.push({ path: f, raw });
    } catch {
      // not an image (the corrupt test file)
    }
  }
  const rot = items.findIndex((i) => basename(i.path) === 'ukbench00120_rotation.jpg');
  const originals = items.map((it, k) => k).filter((k) => ['ukbench00120.jpg', 'ukbench00120_hflip.jpg', 'ukbench00120_resize.jpg'].includes(basename(items[k].path)));
  const family = items.map((it, k) => k).filter((k) => scene(items[k].path) === 'uk00120');
  const pool = items.map((it, k) => k).filter((k) => scene(items[k].path) !== 'uk00120');
  const unrelated = (a: number, b: number) => scene(items[a].path) !== scene(items[b].path) && !(person(items[a].path) && person(items[a].path) === person(items[b].path));

  const power = (x: number) => Math.sign(x) * Math.pow(Math.abs(x), SIMILARITY_POWER);
  const measure = (ids: number[]) => {
    const d = items[0].raw.length;
    const mean = new Float32Array(d);
    for (const k of ids) for (let i = 0; i < d; i++) mean[i] += power(items[k].raw[i]) / ids.length;
    const v = new Map(ids.map((k) => {
      const out = new Float32Array(d);
      prepareVector(items[k].raw, mean, out);
      return [k, out] as const;
    }));
    const crop = Math.max(...originals.map((o) => dot(v.get(rot)!, v.get(o)!)));
    let worst = -1;
    for (let x = 0; x < ids.length; x++) for (let y = x + 1; y < ids.length; y++) if (unrelated(ids[x], ids[y])) worst = Math.max(worst, dot(v.get(ids[x])!, v.get(ids[y])!));
    return { crop, worst };
  };

  const all = measure([...family, ...pool]);
  console.log(`${items.length} distinct photos; threshold ${SIMILAR_SHOT_MIN_SIMILARITY}; power ${SIMILARITY_POWER}`);
  console.log(`whole set: rotated crop to its original's group ${all.crop.toFixed(3)}, closest unrelated pair ${all.worst.toFixed(3)}`);
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const others of [15, 30, 60, 120]) {
    let hit = 0;
    let falsePos = 0;
    const trials = 100;
    for (let t = 0; t < trials; t++) {
      const picked = [...pool].sort(() => random() - 0.5).slice(0, others);
      const m = measure([...family, ...picked]);
      if (m.crop >= SIMILAR_SHOT_MIN_SIMILARITY) hit++;
      if (m.worst >= SIMILAR_SHOT_MIN_SIMILARITY) falsePos++;
    }
    console.log(`catalogs of ${others + family.length}: crop grouped in ${hit}%, an unrelated pair grouped in ${falsePos}%`);
  }
}

void main();
