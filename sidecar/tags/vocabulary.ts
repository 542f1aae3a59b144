/**
 * The tag vocabulary: WordNet concepts with human names and synonyms over the leaves the models
 * report (ImageNet-1k classes of MobileNetV2, COCO-80 classes of YOLOX, colour names), and the
 * query-word lookup that turns "birds", "hot dog" or "people" into concepts.
 * Data: models/tags/vocabulary.json (built by models/tags/build-vocabulary.ts from WordNet 3.0;
 * see models/tags/WORDNET_LICENSE.txt).
 */
import vocabularyJson from '../../models/tags/vocabulary.json';
import { COLOUR_NAMES } from './colours';

interface VocabularyFile {
  concepts: Array<{ id: string; name: string; synonyms: string[]; listed?: boolean }>;
  /** Per ImageNet class (model output order): its concept, then its visible ancestors. */
  imagenet: number[][];
  /** Context: an ImageNet class lends `factor` of its probability to these concepts (a bee -> flower). */
  related: Array<{ class: number; concepts: number[]; factor: number }>;
  /** Per COCO class (YOLOX output order). */
  coco: Array<{ label: string; concepts: number[] }>;
}

export interface Concept {
  index: number;
  /** WordNet id ("n01503061"), "coco:NAME" or "colour:NAME". */
  id: string;
  /** Display name ("bird"). */
  name: string;
  synonyms: readonly string[];
  /** False for taxonomic middle ranks: searchable, not listed among an image's tags. */
  listed: boolean;
}

/** Where a concept's evidence comes from: ImageNet class indices, COCO class indices, colour names. */
export interface ConceptLeaves {
  imagenet: number[];
  /** ImageNet classes that lend part of their probability by context: [class, factor]. */
  related: Array<[number, number]>;
  coco: number[];
  colours: string[];
}

/** Irregular plurals people type; regular ones are folded by rule. */
const IRREGULAR: Record<string, string> = {
  people: 'person',
  men: 'man',
  women: 'woman',
  children: 'child',
  mice: 'mouse',
  geese: 'goose',
  teeth: 'tooth',
  feet: 'foot',
  leaves: 'leaf',
  knives: 'knife',
  wolves: 'wolf',
  calves: 'calf',
  loaves: 'loaf',
  shelves: 'shelf',
  cacti: 'cactus',
  fungi: 'fungus',
  oxen: 'ox',
};

/** "ladies" -> "lady", "boxes" -> "box", "dogs" -> "dog"; words that are not plural come back unchanged. */
export function singular(word: string): string {
  const w = word.toLowerCase();
  if (IRREGULAR[w]) return IRREGULAR[w];
  if (w.length <= 3 || w.endsWith('ss') || w.endsWith('us') || w.endsWith('is')) return w;
  if (w.endsWith('ies') && w.length > 4) return `${w.slice(0, -3)}y`;
  if (/(?:ches|shes|xes|zes|sses|oes)$/.test(w)) return w.slice(0, -2);
  if (w.endsWith('s')) return w.slice(0, -1);
  return w;
}

/** Lower case, hyphens/underscores/apostrophes as spaces, single spaces. */
export function normalisePhrase(text: string): string {
  return text
    .toLowerCase()
    .replace(/['’]s\b/g, 's')
    .replace(/[-_]+/g, ' ')
    .replace(/[^\p{L}\p{N} ]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A phrase with its last word made singular ("hot dogs" -> "hot dog"). */
function singularPhrase(phrase: string): string {
  const words = phrase.split(' ');
  words[words.length - 1] = singular(words[words.length - 1]);
  return words.join(' ');
}

/** One run of query words that names concepts. */
export interface ConceptGroup {
  /** The words as typed (joined). */
  text: string;
  concepts: Concept[];
}

const MAX_PHRASE_WORDS = 4;

export class TagVocabulary {
  readonly concepts: Concept[];
  /** Per ImageNet class: concept indices (its own first). */
  readonly imagenet: ReadonlyArray<readonly number[]>;
  /** Per ImageNet class: the concepts it lends probability to by context, with the factor. */
  readonly relatedOf = new Map<number, Array<{ concepts: readonly number[]; factor: number }>>();
  readonly coco: ReadonlyArray<{ label: string; concepts: readonly number[] }>;
  /** Colour name -> concept index. */
  readonly colourConcept = new Map<string, number>();
  private readonly byName = new Map<string, number[]>();
  private readonly leaves = new Map<number, ConceptLeaves>();

  constructor(file: VocabularyFile) {
    this.concepts = file.concepts.map((c, index) => ({ index, id: c.id, name: c.name, synonyms: c.synonyms, listed: c.listed !== false }));
    this.imagenet = file.imagenet;
    this.coco = file.coco;
    for (const colour of COLOUR_NAMES) {
      const index = this.concepts.length;
      this.concepts.push({ index, id: `colour:${colour}`, name: colour, synonyms: colour === 'grey' ? ['gray'] : [], listed: true });
      this.colourConcept.set(colour, index);
    }
    for (const c of this.concepts) {
      for (const name of [c.name, ...c.synonyms]) {
        const key = normalisePhrase(name);
        if (!key) continue;
        for (const k of new Set([key, singularPhrase(key)])) {
          const list = this.byName.get(k) ?? [];
          if (!list.includes(c.index)) list.push(c.index);
          this.byName.set(k, list);
        }
      }
    }
    const leavesOf = (i: number): ConceptLeaves => {
      let l = this.leaves.get(i);
      if (!l) this.leaves.set(i, (l = { imagenet: [], related: [], coco: [], colours: [] }));
      return l;
    };
    this.imagenet.forEach((chain, cls) => chain.forEach((i) => leavesOf(i).imagenet.push(cls)));
    for (const r of file.related ?? []) {
      for (const i of r.concepts) leavesOf(i).related.push([r.class, r.factor]);
      const list = this.relatedOf.get(r.class) ?? [];
      list.push({ concepts: r.concepts, factor: r.factor });
      this.relatedOf.set(r.class, list);
    }
    this.coco.forEach((entry, cls) => entry.concepts.forEach((i) => leavesOf(i).coco.push(cls)));
    for (const [colour, i] of this.colourConcept) leavesOf(i).colours.push(colour);
  }

  /** The model outputs beneath a concept (the concept itself included). */
  leavesOf(concept: number): ConceptLeaves {
    return this.leaves.get(concept) ?? { imagenet: [], related: [], coco: [], colours: [] };
  }

  /** Concepts named exactly by `phrase` (plurals folded), or none. */
  lookup(phrase: string): Concept[] {
    const key = normalisePhrase(phrase);
    if (!key) return [];
    const hits = this.byName.get(key) ?? this.byName.get(singularPhrase(key)) ?? [];
    return hits.map((i) => this.concepts[i]);
  }

  /**
   * Splits query words into concept groups, longest phrase first ("hot dog" before "dog"); words
   * that name no concept are left out. A quoted term may itself be a phrase.
   */
  groups(terms: readonly string[]): ConceptGroup[] {
    const words = terms.flatMap((t) => normalisePhrase(t).split(' ')).filter(Boolean);
    const out: ConceptGroup[] = [];
    for (let i = 0; i < words.length; ) {
      let matched = 0;
      for (let n = Math.min(MAX_PHRASE_WORDS, words.length - i); n >= 1; n--) {
        const text = words.slice(i, i + n).join(' ');
        const concepts = this.lookup(text);
        if (concepts.length > 0) {
          out.push({ text, concepts });
          matched = n;
          break;
        }
      }
      i += Math.max(1, matched);
    }
    return out;
  }
}

let shared: TagVocabulary | null = null;

/** The built-in vocabulary (parsed once per process). */
export function tagVocabulary(): TagVocabulary {
  if (!shared) shared = new TagVocabulary(vocabularyJson as VocabularyFile);
  return shared;
}
