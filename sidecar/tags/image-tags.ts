/**
 * An image's tags from what the analyzers stored: each ImageNet class adds its probability to its
 * concept and to every visible ancestor (so "animal" holds the summed probability of all animal
 * classes among the stored ones: P(animal) as far as the model's top classes tell), each COCO
 * object class gives its concept chain the best box score and the box count, and each colour its
 * pixel share. A concept backed by several sources keeps the highest score.
 */
import type { TagVocabulary } from './vocabulary';

/** Tags at or above this score are shown (asset/get, `loupe tags`). */
export const MIN_TAG_SCORE = 0.05;
/** `tag:` / `has:` filters need at least this score. */
export const TAG_FILTER_SCORE = 0.05;
/** The search signal ranks images whose concept score reaches this. */
export const MIN_SEARCH_SCORE = 0.02;
/** Tags at or above this score are shown as facts; lower ones as "less likely" (the classifier's long tail). */
export const LIKELY_TAG_SCORE = 0.15;
/** Tags listed per image. */
export const MAX_TAGS = 15;

export interface LabelRow {
  classIndex: number;
  score: number;
}
export interface ObjectRow {
  classIndex: number;
  score: number;
}
export interface ColourRow {
  colour: string;
  share: number;
}

export interface TagRows {
  labels: LabelRow[];
  objects: ObjectRow[];
  colours: ColourRow[];
}

export type TagSource = 'label' | 'object' | 'colour';

export interface ImageTag {
  /** Concept index in the vocabulary. */
  concept: number;
  name: string;
  /** 0..1. */
  score: number;
  /** Objects detected of this concept (0 when only the classifier or colours back it). */
  count: number;
  source: TagSource;
}

/** "person" x3 -> "3 people", "dog" x2 -> "2 dogs"; a count of 0 or 1 leaves the name. */
export function countedName(name: string, count: number): string {
  if (count <= 1) return name;
  const irregular: Record<string, string> = { person: 'people', man: 'men', woman: 'women', child: 'children', mouse: 'mice', knife: 'knives', sheep: 'sheep', skis: 'skis', scissors: 'scissors', bus: 'buses', glass: 'glasses', cactus: 'cacti' };
  const words = name.split(' ');
  const last = words[words.length - 1];
  words[words.length - 1] =
    irregular[last] ?? (/(?:s|x|z|ch|sh)$/.test(last) ? `${last}es` : /[^aeiou]y$/.test(last) ? `${last.slice(0, -1)}ies` : `${last}s`);
  return `${count} ${words.join(' ')}`;
}

/** Every concept score of one image (unsorted, no threshold). */
export function conceptScores(vocab: TagVocabulary, rows: TagRows): Map<number, { score: number; count: number; source: TagSource }> {
  const out = new Map<number, { score: number; count: number; source: TagSource }>();
  const labelSums = new Map<number, number>();
  for (const l of rows.labels) {
    const chain = vocab.imagenet[l.classIndex];
    if (!chain) continue;
    for (const c of chain) labelSums.set(c, (labelSums.get(c) ?? 0) + l.score);
    for (const r of vocab.relatedOf.get(l.classIndex) ?? []) {
      for (const c of r.concepts) labelSums.set(c, (labelSums.get(c) ?? 0) + l.score * r.factor);
    }
  }
  for (const [c, s] of labelSums) out.set(c, { score: Math.min(1, s), count: 0, source: 'label' });
  const objects = new Map<number, { score: number; count: number }>();
  for (const o of rows.objects) {
    const entry = vocab.coco[o.classIndex];
    if (!entry) continue;
    for (const c of entry.concepts) {
      const cur = objects.get(c) ?? { score: 0, count: 0 };
      cur.score = Math.max(cur.score, o.score);
      cur.count++;
      objects.set(c, cur);
    }
  }
  for (const [c, o] of objects) {
    const cur = out.get(c);
    if (!cur || o.score >= cur.score) out.set(c, { score: o.score, count: o.count, source: 'object' });
    else cur.count = o.count;
  }
  for (const col of rows.colours) {
    const c = vocab.colourConcept.get(col.colour);
    if (c !== undefined) out.set(c, { score: Math.min(1, col.share), count: 0, source: 'colour' });
  }
  return out;
}

/** The tags worth showing: score >= MIN_TAG_SCORE, best first, at most MAX_TAGS. */
export function imageTags(vocab: TagVocabulary, rows: TagRows, limit = MAX_TAGS): ImageTag[] {
  const tags: ImageTag[] = [];
  for (const [concept, s] of conceptScores(vocab, rows)) {
    if (s.score < MIN_TAG_SCORE || !vocab.concepts[concept].listed) continue;
    tags.push({ concept, name: vocab.concepts[concept].name, score: s.score, count: s.count, source: s.source });
  }
  // Equal scores (a class and its ancestors): the more specific concept (fewer leaves) first.
  const breadth = (c: number) => {
    const l = vocab.leavesOf(c);
    return l.imagenet.length + l.coco.length;
  };
  tags.sort((a, b) => b.score - a.score || breadth(a.concept) - breadth(b.concept) || a.concept - b.concept);
  return tags.slice(0, limit);
}
