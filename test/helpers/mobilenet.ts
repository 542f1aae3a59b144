import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadMobileNetAnalyzer } from '../../sidecar/analyzers/mobilenet/load';
import { MOBILENET_MODEL_ID, sharedMobileNet, type MobileNet } from '../../sidecar/analyzers/mobilenet/model';
import { ModelResolver } from '../../sidecar/models/resolver';
import type { Analyzer } from '../../sidecar/pipeline/analyzer';
import { SHARED_MODELS } from './temp';

/** Real weights: LOUPE_MODELS_DIR (CI sets it) or ../shared/models; never downloaded by tests. */
export const MODELS_DIR = process.env.LOUPE_MODELS_DIR || SHARED_MODELS;

export function testResolver(): ModelResolver {
  return new ModelResolver({ modelsDir: MODELS_DIR, cacheDir: join(MODELS_DIR, '.no-cache') });
}

export async function mobileNet(): Promise<MobileNet> {
  const model = sharedMobileNet(await testResolver().resolveFile(MOBILENET_MODEL_ID, undefined, { download: false }));
  await model.load();
  return model;
}

export async function mobileNetAnalyzer(): Promise<Analyzer> {
  const analyzer = await loadMobileNetAnalyzer({ resolver: testResolver(), download: false, onUnavailable: (m) => { throw new Error(m); } });
  if (!analyzer) throw new Error('mobilenet analyzer unavailable');
  return analyzer;
}

export interface ImageNetClass {
  index: number;
  wnid: string;
  name: string;
  ancestors: Set<string>;
}

/** ImageNet-1k classes in model output order, with their WordNet ancestors (test-side only). */
export function imageNetClasses(): ImageNetClass[] {
  const tsv = readFileSync(join(MODELS_DIR, 'labels/imagenet1k_wnid_lemmas.tsv'), 'utf8').trim().split('\n');
  const anc = JSON.parse(readFileSync(join(MODELS_DIR, 'labels/imagenet1k_wordnet30_ancestors.json'), 'utf8')) as {
    classes: Array<{ wnid: string; ancestors: string[] }>;
  };
  return tsv.map((line, index) => {
    const [wnid, lemmas] = line.split('\t');
    if (anc.classes[index].wnid !== wnid) throw new Error(`class order differs at ${index}`);
    return { index, wnid, name: lemmas.split(',')[0].trim(), ancestors: new Set(anc.classes[index].ancestors) };
  });
}

/** WordNet 3.0 synsets used by the tests. */
export const WORDNET = {
  bird: 'n01503061',
  geologicalFormation: 'n09287968',
  garment: 'n03419014',
  clothing: 'n03051540',
} as const;
