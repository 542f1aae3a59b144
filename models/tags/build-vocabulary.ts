/**
 * Builds models/tags/vocabulary.json from the WordNet 3.0 side files of the ImageNet classifier
 * (imagenet1k_wnid_lemmas.tsv, imagenet1k_wordnet30_ancestors.json) and the COCO-80 mapping below.
 * Run: node --import tsx models/tags/build-vocabulary.ts [labelsDir] (default ../shared/models/labels).
 * The output is data derived from WordNet 3.0: WORDNET_LICENSE.txt travels with it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const labelsDir = process.argv[2] ?? join(__dirname, '../../../shared/models/labels');

/** Concepts too abstract to be a useful tag or query ("entity", "object", "artifact", ...). */
const HIDDEN = new Set([
  'n00001740', // entity
  'n00001930', // physical entity
  'n00002684', // object
  'n00003553', // whole, unit
  'n00021939', // artifact
  'n00004475', // organism
  'n00004258', // living thing
  'n03575240', // instrumentality
  'n03076708', // commodity, good
  'n03093574', // consumer goods
  'n00020827', // matter
  'n00020090', // substance
  'n15046900', // solid
  'n01466257', // chordate
  'n00002137', // abstraction
  'n03094503', // container (WordNet files wheeled vehicles under it)
  'n00007347', // causal agent
]);
/** More abstract concepts, by first lemma. */
const HIDDEN_NAMES = ['agent', 'part', 'natural object', 'plant part', 'plant organ', 'reproductive structure', 'durables', 'system', 'communication', 'article', 'ware', 'relation', 'drug of abuse', 'drug', 'fluid', 'liquid', 'nutriment', 'covering', 'protective covering', 'structure', 'device', 'implement', 'equipment', 'instrument', 'vertebrate', 'placental', 'aquatic vertebrate', 'even-toed ungulate', 'odd-toed ungulate'];

/**
 * Taxonomic middle ranks: searchable ("insects" finds a bee through "hymenopterous insect" anyway),
 * but not listed as an image's tags, where they read as noise.
 */
const NOT_LISTED = new Set([
  'hymenopterous insect', 'lepidopterous insect', 'dipterous insect', 'spermatophyte', 'vascular plant', 'angiosperm',
  'diapsid', 'arthropod', 'invertebrate', 'placental', 'musteline mammal', 'natural depression', 'obstruction',
  'gastropod', 'bovid', 'ruminant', 'ungulate', 'elasmobranch', 'teleost fish', 'bony fish', 'soft-finned fish',
  'passerine', 'oscine', 'pierid', 'lycaenid', 'cyprinid', 'cypriniform fish', 'viverrine', 'procyonid', 'anuran',
  'saurian', 'aquatic vertebrate', 'chelonian', 'cartilaginous fish', 'spiny-finned fish', 'crustacean', 'decapod crustacean',
  'self-propelled vehicle', 'heavier-than-air craft', 'conveyance', 'furnishing', 'natural elevation',
]);

/** Lemmas that are ordinary words for something else (a query "machine" should not mean a car). */
const DROPPED_LEMMAS: Record<string, string[]> = {
  n02958343: ['machine'], // car
  n02834778: ['wheel'], // bicycle
};

/** Everyday words WordNet lists under another name. Measured by `npm run bench -- tags`. */
const EXTRA_SYNONYMS: Record<string, string[]> = {
  n00007846: ['people', 'human', 'man', 'woman'], // person
  n09428293: ['beach', 'coast', 'shore', 'sea', 'ocean'], // seashore
  n09359803: ['mountains'], // mountain
  n02121620: ['kitty', 'kitten'], // cat
  n02084071: ['puppy', 'doggy'], // dog
  n11669921: ['flowers', 'blossom', 'bloom'], // flower
  n04524313: ['vehicles'], // vehicle
  n03100490: ['transportation'], // conveyance, transport
  n03769722: ['motorcycle'], // motorbike
  n04404412: ['tv', 'tvmonitor', 'monitor'], // television
  n04553703: ['sink'], // washbasin
  n04026417: ['handbag'], // purse
  n03991062: ['plant pot', 'houseplant', 'potted plant'], // pot, flowerpot
};

/**
 * Context: ImageNet classes that are nearly always photographed with something else, which then
 * gets part of their probability (a bee or a butterfly sits on a flower; a flowerpot holds a plant).
 * Class index -> [concept wnid, factor]. Measured by `npm run bench -- tags` (nature: "flower").
 */
const RELATED: Record<number, Array<[string, number]>> = {
  309: [['n11669921', 0.5]], // bee -> flower
  94: [['n11669921', 0.5]], // hummingbird -> flower
  321: [['n11669921', 0.5]], // admiral
  322: [['n11669921', 0.5]], // ringlet
  323: [['n11669921', 0.5]], // monarch
  324: [['n11669921', 0.5]], // cabbage butterfly
  325: [['n11669921', 0.5]], // sulphur butterfly
  326: [['n11669921', 0.5]], // lycaenid
  738: [['n00017222', 0.5]], // pot, flowerpot -> plant
  883: [['n11669921', 0.3]], // vase -> flower
  984: [['n11669921', 0.7]], // rapeseed (a field in flower) -> flower
  580: [['n00017222', 0.5]], // greenhouse -> plant
};

/**
 * COCO-80 classes (YOLOX order) -> a WordNet concept: `wnid` when WordNet (as far as these files
 * know it) has the thing, else a new concept `name` under `parent` (a wnid).
 */
type CocoMap = { wnid: string } | { name: string; synonyms?: string[]; parent: string | null };
const COCO: Record<string, CocoMap> = {
  person: { wnid: 'n00007846' },
  bicycle: { wnid: 'n02834778' },
  car: { wnid: 'n02958343' },
  motorbike: { wnid: 'n03769722' },
  aeroplane: { wnid: 'n02691156' },
  bus: { wnid: 'n02924116' },
  train: { wnid: 'n04468005' },
  truck: { wnid: 'n04490091' },
  boat: { wnid: 'n02858304' },
  'traffic light': { wnid: 'n06874185' },
  'fire hydrant': { name: 'fire hydrant', synonyms: ['hydrant', 'fireplug'], parent: null },
  'stop sign': { name: 'stop sign', parent: 'n06794110' },
  'parking meter': { wnid: 'n03891332' },
  bench: { wnid: 'n02828884' },
  bird: { wnid: 'n01503061' },
  cat: { wnid: 'n02121620' },
  dog: { wnid: 'n02084071' },
  horse: { wnid: 'n02374451' },
  sheep: { wnid: 'n02411705' },
  cow: { name: 'cow', synonyms: ['cattle', 'cows', 'bull', 'calf'], parent: 'n02402010' },
  elephant: { wnid: 'n02503517' },
  bear: { wnid: 'n02131653' },
  zebra: { wnid: 'n02391049' },
  giraffe: { name: 'giraffe', parent: 'n02399000' },
  backpack: { wnid: 'n02769748' },
  umbrella: { wnid: 'n04507155' },
  handbag: { wnid: 'n04026417' },
  tie: { wnid: 'n03815615' },
  suitcase: { name: 'suitcase', synonyms: ['luggage', 'baggage'], parent: 'n03094503' },
  frisbee: { name: 'frisbee', parent: 'n03964744' },
  skis: { wnid: 'n04228054' },
  snowboard: { name: 'snowboard', parent: 'n04285146' },
  'sports ball': { name: 'ball', synonyms: ['sports ball'], parent: 'n04285146' },
  kite: { name: 'kite', synonyms: ['kites'], parent: 'n03964744' },
  'baseball bat': { name: 'baseball bat', synonyms: ['bat'], parent: 'n04285146' },
  'baseball glove': { name: 'baseball glove', synonyms: ['baseball mitt', 'mitt'], parent: 'n04285146' },
  skateboard: { name: 'skateboard', parent: 'n04285146' },
  surfboard: { name: 'surfboard', parent: 'n04285146' },
  'tennis racket': { wnid: 'n04039381' },
  bottle: { wnid: 'n02876657' },
  'wine glass': { name: 'wine glass', synonyms: ['glass'], parent: 'n03094503' },
  cup: { name: 'cup', synonyms: ['mug', 'cups'], parent: 'n03241496' },
  fork: { name: 'fork', parent: 'n03563967' },
  knife: { wnid: 'n03623556' },
  spoon: { wnid: 'n04284002' },
  bowl: { wnid: 'n02880940' },
  banana: { wnid: 'n07753592' },
  apple: { wnid: 'n07739125' },
  sandwich: { wnid: 'n07695965' },
  orange: { wnid: 'n07747607' },
  broccoli: { wnid: 'n07714990' },
  carrot: { name: 'carrot', synonyms: ['carrots'], parent: 'n07707451' },
  'hot dog': { wnid: 'n07697537' },
  pizza: { wnid: 'n07873807' },
  donut: { name: 'doughnut', synonyms: ['donut'], parent: 'n07555863' },
  cake: { name: 'cake', parent: 'n07555863' },
  chair: { wnid: 'n03001627' },
  sofa: { wnid: 'n04256520' },
  pottedplant: { name: 'potted plant', synonyms: ['houseplant', 'plant'], parent: 'n03991062' },
  bed: { wnid: 'n02818832' },
  diningtable: { name: 'table', synonyms: ['dining table'], parent: 'n03405725' },
  toilet: { name: 'toilet', synonyms: ['lavatory', 'loo', 'wc'], parent: null },
  tvmonitor: { wnid: 'n04404412' },
  laptop: { wnid: 'n03642806' },
  mouse: { wnid: 'n03793489' },
  remote: { wnid: 'n04074963' },
  keyboard: { wnid: 'n03614007' },
  'cell phone': { wnid: 'n02992529' },
  microwave: { wnid: 'n03761084' },
  oven: { wnid: 'n03862676' },
  toaster: { wnid: 'n04442312' },
  sink: { wnid: 'n04553703' },
  refrigerator: { wnid: 'n04070727' },
  book: { name: 'book', synonyms: ['books'], parent: null },
  clock: { wnid: 'n03046257' },
  vase: { wnid: 'n04522168' },
  scissors: { name: 'scissors', parent: 'n03563967' },
  'teddy bear': { wnid: 'n04399382' },
  'hair drier': { wnid: 'n03483316' },
  toothbrush: { name: 'toothbrush', parent: 'n03563967' },
};

interface SourceFile {
  classes: Array<{ wnid: string; lemmas: string; ancestors: string[] }>;
  synsets: Record<string, string>;
}

const tsv = readFileSync(join(labelsDir, 'imagenet1k_wnid_lemmas.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
const src = JSON.parse(readFileSync(join(labelsDir, 'imagenet1k_wordnet30_ancestors.json'), 'utf8')) as SourceFile;
if (tsv.length !== 1000 || src.classes.length !== 1000) throw new Error('expected 1000 classes');

const lemmasOf = new Map<string, string>(Object.entries(src.synsets));
for (const [wnid, lemmas] of lemmasOf) if (HIDDEN_NAMES.includes(lemmas.split(', ')[0])) HIDDEN.add(wnid);
const ancestorsOf = new Map<string, string[]>();
src.classes.forEach((c, i) => {
  if (tsv[i][0] !== c.wnid) throw new Error(`class order differs at ${i}`);
  lemmasOf.set(c.wnid, tsv[i][1]);
  ancestorsOf.set(c.wnid, c.ancestors);
});
const classesUnder = new Map<string, number>();
for (const c of src.classes) for (const a of new Set(c.ancestors)) classesUnder.set(a, (classesUnder.get(a) ?? 0) + 1);
/**
 * A non-class synset's ancestors: the synsets every class beneath it also has that are more general
 * (above more classes; with as many, listed after it: the lists run nearest first).
 */
function synsetAncestors(wnid: string): string[] {
  if (ancestorsOf.has(wnid)) return ancestorsOf.get(wnid)!;
  const below = src.classes.filter((c) => c.ancestors.includes(wnid));
  if (below.length === 0) throw new Error(`${wnid} is not in the ancestor file`);
  const n = classesUnder.get(wnid)!;
  const first = below[0].ancestors;
  return first.filter(
    (a) =>
      a !== wnid &&
      below.every((c) => c.ancestors.includes(a)) &&
      (classesUnder.get(a)! > n || first.indexOf(a) > first.indexOf(wnid)),
  );
}

interface Concept {
  id: string;
  name: string;
  synonyms: string[];
  /** False: searchable, not listed among an image's tags. */
  listed?: false;
}
const concepts: Concept[] = [];
const conceptIndex = new Map<string, number>();
function conceptOf(id: string, lemmas: string[]): number {
  let i = conceptIndex.get(id);
  if (i === undefined) {
    i = concepts.length;
    const dropped = DROPPED_LEMMAS[id] ?? [];
    const names = [...new Set([...lemmas.map((l) => l.trim()).filter((l) => l && !dropped.includes(l)), ...(EXTRA_SYNONYMS[id] ?? [])])];
    concepts.push({ id, name: names[0], synonyms: names.slice(1), ...(NOT_LISTED.has(names[0]) ? { listed: false as const } : {}) });
    conceptIndex.set(id, i);
  }
  return i;
}
const wordnetConcept = (wnid: string): number => {
  const lemmas = lemmasOf.get(wnid);
  if (!lemmas) throw new Error(`no lemmas for ${wnid}`);
  return conceptOf(wnid, lemmas.split(', '));
};
/** The concept and its visible ancestors, nearest first. */
function chain(wnid: string): number[] {
  return [wnid, ...synsetAncestors(wnid)].filter((w) => !HIDDEN.has(w)).map(wordnetConcept);
}

const imagenet = src.classes.map((c) => chain(c.wnid));
const cocoNames = readFileSync(join(labelsDir, '../objects/coco_classes.txt'), 'utf8').trim().split('\n').map((s) => s.trim());
if (cocoNames.length !== 80) throw new Error('expected 80 COCO classes');
const coco = cocoNames.map((label) => {
  const m = COCO[label];
  if (!m) throw new Error(`no mapping for COCO class ${label}`);
  if ('wnid' in m) return { label, concepts: chain(m.wnid) };
  const own = conceptOf(`coco:${m.name}`, [m.name, ...(m.synonyms ?? [])]);
  return { label, concepts: [own, ...(m.parent ? chain(m.parent) : [])] };
});

/** Per related entry: the ImageNet class, the concepts (target and its visible ancestors) and the factor. */
const related = Object.entries(RELATED).flatMap(([cls, targets]) =>
  targets.map(([wnid, factor]) => ({ class: Number(cls), concepts: chain(wnid).filter((c) => !imagenet[Number(cls)].includes(c)), factor })),
);

const out = {
  $comment:
    'Tag vocabulary: WordNet 3.0 concepts (names = lemmas, first is the display name) over the ImageNet-1k classes of MobileNetV2 and the COCO-80 classes of YOLOX. Generated by build-vocabulary.ts; derived from WordNet 3.0, see WORDNET_LICENSE.txt.',
  licence: 'WordNet 3.0 licence (Princeton University), see WORDNET_LICENSE.txt',
  concepts,
  imagenet,
  related,
  coco,
};
writeFileSync(join(__dirname, 'vocabulary.json'), `${JSON.stringify(out)}\n`);
process.stdout.write(`${concepts.length} concepts, ${imagenet.length} ImageNet classes, ${coco.length} COCO classes\n`);
