/**
 * Duplicate-detection quality on the real PDQ and imagededup test images: pairwise precision and
 * recall of copy detection (exact + PDQ near-duplicates) against hand-made ground truth (families of
 * one photo), PDQ cost per image, and the same figures for a common npm perceptual hash
 * (sharp-phash, 64-bit DCT pHash) on the same images in the same run.
 */
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { Catalog } from '../../sidecar/catalog/catalog';
import { findDuplicateGroups } from '../../sidecar/duplicates/find-groups';
import { indexRoot } from '../../sidecar/pipeline/indexer';
import { decodeImage } from '../../sidecar/decode/decode';
import { pdqDihedral } from '../../sidecar/analyzers/pdq';
import { benchTmpDir, log, machineInfo, removeScratch, stats, type Benchmark, type BenchResult } from './common';
import { SHARED_DATA } from './fixtures';

const NAME = 'duplicates-quality';

/** Ground truth: which photo each file is a copy of (an edit, resize, flip, rotation, re-encode or EXIF-rotated copy). */
export function family(relPath: string): string {
  const uk = /ukbench(\d{5})/.exec(basename(relPath));
  if (uk) return `ukbench-${uk[1]}`;
  if (relPath.endsWith('alpha_channel_image.png')) return 'ukbench-00120'; // the same photo with an alpha channel
  if (/bridge-mods\/|dih\/bridge-|misc-images\/b\.jpg$|misc-images\/modes\/|sample-b\.jpg$/.test(relPath)) return 'bridge';
  if (/exif-rotn\//.test(relPath)) return 'exif-rotn';
  return relPath;
}

interface Scores {
  truePairs: number;
  predictedPairs: number;
  correctPairs: number;
  precision: number;
  recall: number;
  missed: string[];
  wrong: string[];
}

function pairsOf(groups: string[][]): Set<string> {
  const out = new Set<string>();
  for (const g of groups) {
    const sorted = [...new Set(g)].sort();
    for (let i = 0; i < sorted.length; i++) for (let j = i + 1; j < sorted.length; j++) out.add(`${sorted[i]} | ${sorted[j]}`);
  }
  return out;
}

function score(files: string[], predictedGroups: string[][]): Scores {
  const byFamily = new Map<string, string[]>();
  for (const f of files) byFamily.set(family(f), [...(byFamily.get(family(f)) ?? []), f]);
  const truth = pairsOf([...byFamily.values()]);
  const predicted = pairsOf(predictedGroups);
  const correct = [...predicted].filter((p) => truth.has(p));
  return {
    truePairs: truth.size,
    predictedPairs: predicted.size,
    correctPairs: correct.length,
    precision: predicted.size ? Math.round((1000 * correct.length) / predicted.size) / 1000 : 1,
    recall: truth.size ? Math.round((1000 * correct.length) / truth.size) / 1000 : 1,
    missed: [...truth].filter((p) => !predicted.has(p)).slice(0, 40),
    wrong: [...predicted].filter((p) => !truth.has(p)).slice(0, 40),
  };
}

function unionFind(n: number, linked: (i: number, j: number) => boolean): number[][] {
  const parent = Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => (parent[x] === x ? x : (parent[x] = find(parent[x])));
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (linked(i, j)) parent[find(i)] = find(j);
  const groups = new Map<number, number[]>();
  for (let i = 0; i < n; i++) groups.set(find(i), [...(groups.get(find(i)) ?? []), i]);
  return [...groups.values()].filter((g) => g.length > 1);
}

async function run(): Promise<BenchResult> {
  const startedAt = new Date().toISOString();
  const root = join(benchTmpDir(), 'duplicates-quality');
  removeScratch(root);
  mkdirSync(root, { recursive: true });
  cpSync(join(SHARED_DATA, 'pdq/data'), join(root, 'pdq/data'), { recursive: true });
  cpSync(join(SHARED_DATA, 'pdq/python-threatexchange-resources'), join(root, 'pdq/python-threatexchange-resources'), { recursive: true });
  cpSync(join(SHARED_DATA, 'near-duplicates/imagededup'), join(root, 'imagededup'), { recursive: true });

  log('indexing the PDQ and imagededup images');
  const catalog = await Catalog.open(root);
  let files: string[];
  let loupeGroups: string[][];
  let nearOnly: string[][];
  let similarGroups: string[][];
  try {
    await indexRoot(catalog);
    files = (await catalog.read(`SELECT rel_path FROM assets WHERE status = 'ok' ORDER BY rel_path`)).map((r) => r.rel_path as string);
    const report = await findDuplicateGroups(catalog);
    loupeGroups = report.groups.filter((g) => g.category !== 'similar').map((g) => g.members.map((m) => m.relPath));
    nearOnly = report.groups.filter((g) => g.category === 'near').map((g) => g.members.map((m) => m.relPath));
    similarGroups = report.groups.filter((g) => g.category === 'similar').map((g) => g.members.map((m) => m.relPath));
  } finally {
    catalog.close();
  }

  log(`timing PDQ and sharp-phash on ${files.length} images`);
  const phash = (await import('sharp-phash')).default as unknown as (input: Buffer) => Promise<string>;
  const pdqMs: number[] = [];
  const phashMs: number[] = [];
  const phashes: string[] = [];
  for (const f of files) {
    const image = await decodeImage(join(root, f), f);
    let t = performance.now();
    pdqDihedral(image.rgb, image.rgbWidth, image.rgbHeight, 3);
    pdqMs.push(performance.now() - t);
    const bytes = readFileSync(join(root, f));
    t = performance.now();
    // sharp-phash decodes by itself; give it the working image's PNG when its own decode cannot read the file.
    let bits: string;
    try {
      bits = await phash(bytes);
    } catch {
      bits = await phash(await sharp(image.rgb, { raw: { width: image.rgbWidth, height: image.rgbHeight, channels: 3 } }).png().toBuffer());
    }
    phashMs.push(performance.now() - t);
    phashes.push(bits);
  }
  const phashDistance = (a: string, b: string) => {
    let d = 0;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
    return d;
  };
  const phashScores: Record<string, Scores> = {};
  for (const threshold of [5, 10]) {
    const groups = unionFind(files.length, (i, j) => phashDistance(phashes[i], phashes[j]) <= threshold).map((g) => g.map((i) => files[i]));
    phashScores[`distance<=${threshold}`] = score(files, groups);
  }

  const loupe = score(files, loupeGroups);
  // Similar shots list one file per copy group; expand each to its copies to score against the families.
  const expand = (g: string[]) => g.flatMap((f) => loupeGroups.find((cg) => cg.includes(f)) ?? [f]);
  const withSimilar = score(files, [...loupeGroups, ...similarGroups.map(expand)]);
  const similarOnly = score(files, similarGroups.map(expand));
  const pdqMedian = stats(pdqMs).median;
  const phashMedian = stats(phashMs).median;
  return {
    name: NAME,
    description: 'copy detection precision/recall on ../shared/data/pdq and near-duplicates/imagededup; Loupe PDQ vs sharp-phash',
    startedAt,
    finishedAt: new Date().toISOString(),
    fullSize: true,
    params: { images: files.length },
    machine: machineInfo(),
    notes: [
      'Pairs: two files count as a true pair when they are copies of the same photo (see family()); a predicted pair is two files in one group.',
      'Loupe copies = exact-copy groups + PDQ near-duplicate groups (distance <= 31 under the 8 rotations/flips, both qualities >= 50).',
      'Similar shots (embeddings) are reported separately once indexed; the ~30 degree rotated UKBench copy and the letterboxed bridge are not PDQ copies.',
      'PDQ time: pdqDihedral (all 8 variants) on the decode-once working image; sharp-phash time includes its own decode of the file.',
    ],
    headline: `Loupe copies P=${loupe.precision} R=${loupe.recall}; copies+similar shots P=${withSimilar.precision} R=${withSimilar.recall}; sharp-phash(<=10) P=${phashScores['distance<=10'].precision} R=${phashScores['distance<=10'].recall}; PDQ ${pdqMedian} ms/img vs phash ${phashMedian} ms/img`,
    results: {
      images: files.length,
      loupe: { copies: loupe, nearOnly: score(files, nearOnly), similarShots: similarOnly, copiesPlusSimilar: withSimilar, similarGroups },
      sharpPhash: phashScores,
      msPerImage: { pdqDihedral: stats(pdqMs), sharpPhash: stats(phashMs), ratioPhashToPdq: Math.round((phashMedian / pdqMedian) * 100) / 100 },
    },
  };
}

export const benchmark: Benchmark = { name: NAME, run };
