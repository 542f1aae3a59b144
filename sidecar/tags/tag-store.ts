/**
 * Reads tag evidence from the catalog: per asset (for asset/get and `loupe tags`) and per concept
 * (for search). Concept scores are computed at query time from the stored model outputs, so a
 * vocabulary change needs no re-index.
 */
import type { Catalog } from '../catalog/catalog';
import type { TagRows } from './image-tags';
import type { ConceptGroup, TagVocabulary } from './vocabulary';

const n = (v: unknown): number => Number(v);

/** The stored labels, objects and colours of the given assets (all assets when `ids` is omitted). */
export async function readTagRows(catalog: Catalog, ids?: readonly number[]): Promise<Map<number, TagRows>> {
  const out = new Map<number, TagRows>();
  const rowsOf = (id: number): TagRows => {
    let r = out.get(id);
    if (!r) out.set(id, (r = { labels: [], objects: [], colours: [] }));
    return r;
  };
  const safe = ids ? [...new Set(ids)].filter((id) => Number.isSafeInteger(id)) : null;
  if (safe && safe.length === 0) return out;
  const chunks = safe ? Array.from({ length: Math.ceil(safe.length / 1000) }, (_, i) => safe.slice(i * 1000, i * 1000 + 1000)) : [null];
  for (const chunk of chunks) {
    const where = chunk ? `WHERE asset_id IN (${chunk.join(', ')})` : '';
    for (const r of await catalog.read(`SELECT asset_id, class_index, score FROM image_labels ${where}`)) {
      rowsOf(n(r.asset_id)).labels.push({ classIndex: n(r.class_index), score: n(r.score) });
    }
    for (const r of await catalog.read(`SELECT asset_id, class_index, score FROM image_objects ${where}`)) {
      rowsOf(n(r.asset_id)).objects.push({ classIndex: n(r.class_index), score: n(r.score) });
    }
    for (const r of await catalog.read(`SELECT asset_id, colour, share FROM image_colours ${where}`)) {
      rowsOf(n(r.asset_id)).colours.push({ colour: String(r.colour), share: n(r.share) });
    }
  }
  return out;
}

export interface ConceptHit {
  /** Best concept score per group (0 when the group did not match), same order as the groups. */
  scores: number[];
  /** The concept that gave each group its score (-1 when none). */
  concepts: number[];
  /** Object count behind each group's score (0 when not from objects). */
  counts: number[];
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/**
 * Per asset, the best score of each group's concepts, for assets where some group reaches
 * `minScore`. Label evidence is summed over the classes beneath a concept, objects take their best
 * box, colours their share; a concept keeps the best of the three.
 */
export async function scoreGroups(
  catalog: Catalog,
  vocab: TagVocabulary,
  groups: readonly ConceptGroup[],
  minScore: number,
  /** How the classes beneath a concept combine: 'sum' (its probability) or 'max' (its best class). */
  aggregate: 'sum' | 'max' = 'sum',
): Promise<Map<number, ConceptHit>> {
  const labelMap: string[] = [];
  const objectMap: string[] = [];
  const colourMap: string[] = [];
  groups.forEach((g, gi) => {
    for (const c of g.concepts) {
      const leaves = vocab.leavesOf(c.index);
      for (const cls of leaves.imagenet) labelMap.push(`(${cls}, ${gi}, ${c.index}, 1.0)`);
      for (const [cls, factor] of leaves.related) labelMap.push(`(${cls}, ${gi}, ${c.index}, ${factor})`);
      for (const cls of leaves.coco) objectMap.push(`(${cls}, ${gi}, ${c.index})`);
      for (const colour of leaves.colours) colourMap.push(`(${sqlString(colour)}, ${gi}, ${c.index})`);
    }
  });
  const parts: string[] = [];
  if (labelMap.length) {
    parts.push(`SELECT l.asset_id, m.g, m.c, ${aggregate === 'max' ? 'max(l.score * m.w)' : 'least(1.0, sum(l.score * m.w))'} AS s, 0 AS k
      FROM image_labels l JOIN (VALUES ${labelMap.join(', ')}) m(class_index, g, c, w) ON l.class_index = m.class_index GROUP BY ALL`);
  }
  if (objectMap.length) {
    parts.push(`SELECT o.asset_id, m.g, m.c, max(o.score) AS s, count(*) AS k
      FROM image_objects o JOIN (VALUES ${objectMap.join(', ')}) m(class_index, g, c) ON o.class_index = m.class_index GROUP BY ALL`);
  }
  if (colourMap.length) {
    parts.push(`SELECT x.asset_id, m.g, m.c, x.share AS s, 0 AS k
      FROM image_colours x JOIN (VALUES ${colourMap.join(', ')}) m(colour, g, c) ON x.colour = m.colour`);
  }
  const out = new Map<number, ConceptHit>();
  if (parts.length === 0) return out;
  // One JSON string back instead of a row object per (asset, group): far cheaper for broad concepts.
  const rows = await catalog.read(
    `SELECT CAST(to_json(list([asset_id, g, c, s, k])) AS VARCHAR) AS j FROM (
       SELECT asset_id, g, arg_max(c, s) AS c, max(s) AS s, arg_max(k, s) AS k
       FROM (${parts.join(' UNION ALL ')}) WHERE s >= $1 GROUP BY asset_id, g)`,
    [minScore],
  );
  const json = rows[0]?.j;
  if (typeof json !== 'string') return out;
  for (const [id, g, c, s, k] of JSON.parse(json) as Array<[number, number, number, number, number]>) {
    let hit = out.get(id);
    if (!hit) out.set(id, (hit = { scores: groups.map(() => 0), concepts: groups.map(() => -1), counts: groups.map(() => 0) }));
    hit.scores[g] = s;
    hit.concepts[g] = c;
    hit.counts[g] = k;
  }
  return out;
}

