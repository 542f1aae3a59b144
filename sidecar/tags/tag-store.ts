/**
 * Reads tag evidence (labels, objects, colours) from the catalog. Concept scores are computed from
 * these stored model outputs when asked, so a vocabulary change needs no re-index.
 */
import type { Catalog } from '../catalog/catalog';
import type { TagRows } from './image-tags';

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
    // One JSON string per table instead of a row object per label: ~20 rows per image add up.
    const json = async (sql: string): Promise<unknown[][]> => {
      const r = await catalog.read(`SELECT CAST(to_json(list(x)) AS VARCHAR) AS j FROM (${sql})`);
      return typeof r[0]?.j === 'string' ? (JSON.parse(r[0].j) as unknown[][]) : [];
    };
    for (const [id, cls, score] of await json(`SELECT [asset_id, class_index, score] AS x FROM image_labels ${where}`)) {
      rowsOf(n(id)).labels.push({ classIndex: n(cls), score: n(score) });
    }
    for (const [id, cls, score] of await json(`SELECT [asset_id, class_index, score] AS x FROM image_objects ${where}`)) {
      rowsOf(n(id)).objects.push({ classIndex: n(cls), score: n(score) });
    }
    for (const [id, colour, share] of await json(`SELECT [CAST(asset_id AS VARCHAR), colour, CAST(share AS VARCHAR)] AS x FROM image_colours ${where}`)) {
      rowsOf(n(id)).colours.push({ colour: String(colour), share: n(share) });
    }
  }
  return out;
}
